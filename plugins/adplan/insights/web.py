"""The campaign insights web app (FastAPI), mounted by the Airflow UI plugin at ``/adplan``.

Routes (relative to the mount):

* ``/``: the dashboard, the same HTML as the static export, built live from the warehouse
* ``/api/kpis?campaign_id=&advertiser_id=&from=&to=&ds=&model=``: KPI totals and daily rows as JSON
* ``/export/<table>.csv``: one dashboard table (aggregates only, no personal data) as CSV

Data comes from ``adplan.insights.data.load_for_target``: the local warehouse on the local target; on
the aws target Athena (``adplan.insights.athena``; a failed Athena query answers 502 with its reason).
Airflow mounts plugin apps without its own authentication: the pages serve aggregates only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

Loader = Callable[[str | None, str], dict[str, Any]]


def _default_loader(ds: str | None, model: str) -> dict[str, Any]:
    from adplan.insights.data import load_for_target

    return load_for_target(ds, model)


def _csv_cell(value: Any) -> Any:
    # A spreadsheet must not run a cell as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def create_app(loader: Loader | None = None) -> FastAPI:
    from adplan.insights.data import AthenaQueryError

    load = loader or _default_loader
    app = FastAPI(title="adplan campaign insights", docs_url=None, redoc_url=None, openapi_url=None)

    def data_or_error(ds: str | None, model: str) -> dict[str, Any]:
        try:
            return load(ds or None, model or "linear")
        except AthenaQueryError as error:
            raise HTTPException(status_code=502, detail=str(error)) from None
        except ValueError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None

    @app.get("/", response_class=HTMLResponse)
    def dashboard(ds: str | None = None, model: str = "linear") -> HTMLResponse:
        from adplan.insights.report import build_report_html

        return HTMLResponse(build_report_html(data_or_error(ds, model)))

    @app.get("/api/kpis")
    def kpis(
        campaign_id: str | None = None,
        advertiser_id: str | None = None,
        date_from: str | None = Query(None, alias="from"),
        date_to: str | None = Query(None, alias="to"),
        ds: str | None = None,
        model: str = "linear",
    ) -> dict[str, Any]:
        from adplan.insights.data import filter_kpis, kpi_totals

        data = data_or_error(ds, model)
        rows = filter_kpis(data, campaign_id, advertiser_id, date_from, date_to)
        return {
            "ds": data["ds"],
            "model": data["model"],
            "available": data["tables"].get("kpis_daily") is not None,
            "filters": {
                "campaign_id": campaign_id,
                "advertiser_id": advertiser_id,
                "from": date_from,
                "to": date_to,
            },
            "totals": kpi_totals(rows),
            "rows": rows,
        }

    @app.get("/export/{table}.csv")
    def export_csv(table: str, ds: str | None = None, model: str = "linear") -> Response:
        data = data_or_error(ds, model)
        if table not in data["tables"]:
            raise HTTPException(status_code=404, detail="unknown table")
        content = data["tables"][table]
        if content is None:
            raise HTTPException(status_code=404, detail="no data yet")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(content["columns"])
        writer.writerows([_csv_cell(v) for v in row] for row in content["rows"])
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{table}_{data["ds"]}.csv"'},
        )

    return app


app = create_app()
