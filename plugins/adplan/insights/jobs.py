"""Campaign insights jobs: the entry points of the ``campaign_insights`` DAG (``fn(ds, **params) -> dict``,
see ``adplan.jobs``). Each returns counts, ids and paths, never personal data.

``build_marts(ds, model="linear", lookback_days=30)``
    runs ``sql/insights/*.sql`` into analytics partitions ``dt = ds``:

    * ``campaign_kpis_daily``: date, advertiser_id, campaign_id, channel, publisher_id, creative_id,
      impressions, clicks, ctr, spend, cpm, cpc, conversions, cpa, revenue, roas, model
    * ``campaign_pacing``: campaign_id, channel, flight_start, flight_end, flight_days, elapsed_days,
      status, planned_budget, planned_spend_to_date, actual_spend, projected_spend, pacing_ratio,
      planned_impressions, planned_impressions_to_date, actual_impressions, projected_impressions,
      impressions_pacing_ratio
    * ``reach_frequency``: advertiser_id, campaign_id, impressions, unresolved_impressions, reach,
      avg_frequency, freq_1, freq_2, freq_3_5, freq_6_10, freq_11_plus, max_frequency

    Without ``attribution_credits`` conversions and revenue are 0 (noted); without ``identity_graph``
    ``reach_frequency`` is skipped (noted). Missing delivery inputs are an error.
``pacing_alerts(ds, threshold=None, notify=True)``
    in-flight campaign x channel lines whose spend to date is off plan by more than ``threshold``
    (default: ``include/config/alerts.yaml``), sent to that file's channels (``adplan.insights.alerts``).
``export_report(ds, out=None, model="linear")``
    writes the static dashboard, by default to ``<lake>/analytics/report/dt=<ds>/report.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adplan.insights import data as dashboard
from adplan.runner import run_sql_file
from adplan.warehouse import Warehouse

ZONE = "analytics"
MARTS = tuple(dashboard.MART_SQL)
REPORT_TABLE = "report"
REPORT_FILE = "report.html"


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def build_marts(
    ds: str, model: str = "linear", lookback_days: int | str = 30, lake: str | None = None, **_: Any
) -> dict[str, Any]:
    model = dashboard.check_model(model)
    lookback = int(lookback_days)
    if lookback < 1:
        raise ValueError("lookback_days must be at least 1")
    warehouse = Warehouse.at(lake)
    con = warehouse.connect()
    try:
        tables = dashboard.existing_tables(con)
        credited = None
        if "attribution_credits" in tables:
            credited = con.execute(
                "SELECT coalesce(sum(conversions), 0) FROM attribution_credits WHERE model = ? "
                "AND dt = (SELECT max(dt) FROM attribution_credits WHERE dt <= ?)",
                [model, ds],
            ).fetchall()[0][0]
    finally:
        con.close()

    missing = sorted(set(dashboard.MART_INPUTS["campaign_kpis_daily"]) - tables)
    if missing:
        raise RuntimeError(f"campaign insights need {', '.join(missing)}; run ingest_and_hygiene first")

    summary: dict[str, Any] = {"ds": ds, "model": model, "lookback_days": lookback, "tables": {}, "notes": []}
    if credited is None:
        summary["notes"].append("attribution_credits not found: conversions and revenue are 0")
    for name in MARTS:
        needs = set(dashboard.MART_INPUTS[name]) - tables
        if needs:
            summary["notes"].append(f"{name} skipped: {', '.join(sorted(needs))} not found")
            continue
        params = dashboard.mart_params(name, tables, model, lookback)
        result = run_sql_file(
            dashboard.MART_SQL[name], ds, params, output_table=name, zone=ZONE, warehouse=warehouse
        )
        summary["tables"][name] = result["rows"]

    con = warehouse.connect()
    try:
        allocated = con.execute(
            "SELECT coalesce(sum(conversions), 0) FROM campaign_kpis_daily WHERE dt = ?", [ds]
        ).fetchall()[0][0]
    finally:
        con.close()
    summary["allocated_conversions"] = round(float(allocated), 6)
    if credited is not None:
        summary["credited_conversions"] = round(float(credited), 6)
    return summary


def pacing_alerts(
    ds: str,
    threshold: float | str | None = None,
    notify: bool | str = True,
    alerts_config: str | None = None,
    lake: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """In-flight lines with ``|pacing_ratio - 1| > threshold`` (campaign ids and money only), sent.

    ``threshold`` defaults to ``pacing.threshold`` of ``include/config/alerts.yaml``. When lines are off
    plan and ``notify`` is true, the report goes to the file's channels (``PacingAlertNotifier``);
    ``alerts_config`` is another file of the same shape.
    """
    from adplan.insights.alerts import load_alerts_config

    config = load_alerts_config(alerts_config)
    threshold = config.threshold if threshold in (None, "", "None") else _float(threshold, "threshold")
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    warehouse = Warehouse.at(lake)
    con = warehouse.connect()
    try:
        tables = dashboard.existing_tables(con)
        relation = dashboard.mart_relation(con, "campaign_pacing", ds, tables)
        lines = dashboard.records(dashboard._table(relation)) if relation is not None else []
    finally:
        con.close()
    checked = [line for line in lines if line["status"] == "in_flight" and line["pacing_ratio"] is not None]
    alerts = [
        {
            "campaign_id": line["campaign_id"],
            "channel": line["channel"],
            "direction": "over" if line["pacing_ratio"] > 1 else "under",
            "pacing_ratio": line["pacing_ratio"],
            "planned_spend_to_date": line["planned_spend_to_date"],
            "actual_spend": line["actual_spend"],
            "projected_spend": line["projected_spend"],
            "planned_budget": line["planned_budget"],
        }
        for line in checked
        if abs(line["pacing_ratio"] - 1) > threshold
    ]
    alerts.sort(key=lambda a: (-abs(a["pacing_ratio"] - 1), a["campaign_id"], a["channel"]))
    report = {
        "ds": ds,
        "threshold": threshold,
        "checked": len(checked),
        "alerts": alerts,
        "count": len(alerts),
        "pacing_available": relation is not None,
    }
    report["notified"] = []
    if alerts and str(notify).lower() not in ("false", "0", "no"):
        from adplan.insights.alerts import PacingAlertNotifier

        report["notified"] = PacingAlertNotifier(report, config).notify({"ds": ds})["sent"]
    return report


def default_report_path(ds: str) -> Path:
    return Warehouse.from_settings().lake.partition_dir(ZONE, REPORT_TABLE, ds) / REPORT_FILE


def export_report(ds: str, out: str | Path | None = None, model: str = "linear", **_: Any) -> dict[str, Any]:
    """Write the self-contained dashboard for ``ds`` (atomically) and return its path and size."""
    from adplan.insights.report import write_report

    data = dashboard.load_dashboard_data(ds, model)
    path = write_report(data, Path(out) if out else default_report_path(ds))
    return {
        "ds": ds,
        "path": str(path),
        "bytes": path.stat().st_size,
        "tables_without_data": sorted(name for name, table in data["tables"].items() if table is None),
    }
