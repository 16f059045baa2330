"""What the dashboard shows, read from the local warehouse: small aggregated tables, no personal data.

``load_dashboard_data(ds)`` returns a JSON-ready dict::

    {"ds", "model", "generated_at", "campaigns": [...], "tables": {name: {"columns", "rows"} | None}}

A table is None when its source does not exist yet (the report shows "no data yet"). The KPI marts
are read at their ``dt = ds`` partition; when a mart has not been built for ``ds`` its SQL file runs
in memory on the same inputs (nothing is written), so the dashboard works before the first
``build_marts``.

On the aws target the same tables come from Athena (``load_dashboard_data_athena``, see
``adplan.insights.athena``): the same queries, transpiled from DuckDB to Athena SQL by sqlglot.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from adplan import sqlfiles
from adplan.warehouse import Warehouse

MART_SQL = {
    "campaign_kpis_daily": "insights/campaign_kpis_daily.sql",
    "campaign_pacing": "insights/campaign_pacing.sql",
    "reach_frequency": "insights/reach_frequency.sql",
}
# Tables a mart's SQL cannot run without.
MART_INPUTS = {
    "campaign_kpis_daily": (
        "curated_campaigns",
        "curated_ad_impressions",
        "curated_ad_clicks",
        "curated_spend",
    ),
    "campaign_pacing": ("curated_media_plan", "curated_spend"),
    "reach_frequency": ("curated_campaigns", "curated_ad_impressions", "identity_graph"),
}
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,64}$")

# Dashboard tables, in the order the report shows them.
TABLES = (
    "kpis_daily",
    "campaign_pacing",
    "reach_frequency",
    "channel_roas",
    "attribution_models",
    "budget_recommendation",
    "segments",
    "segment_overlap",
    "quarantine_counts",
    "hygiene_reconciliation",
    "identity_match_rates",
)
KPI_SUMS = ("impressions", "clicks", "spend", "conversions", "revenue")


class AthenaQueryError(RuntimeError):
    """aws target: an Athena query of the dashboard failed, was cancelled or did not finish in time."""


def check_model(model: str) -> str:
    model = str(model or "linear").strip()
    if not MODEL_PATTERN.match(model):
        raise ValueError(f"invalid attribution model name {model!r}")
    return model


def check_ds(ds: str) -> str:
    """A data date must be YYYY-MM-DD (it is written into SQL text)."""
    try:
        valid = date.fromisoformat(str(ds)).isoformat() == ds
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"invalid date {ds!r}: expected YYYY-MM-DD")
    return ds


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }


def mart_params(
    name: str, tables: set[str], model: str = "linear", lookback_days: int = 30
) -> dict[str, Any]:
    if name == "campaign_kpis_daily":
        return {
            "model": check_model(model),
            "lookback_days": int(lookback_days),
            "credits_available": "attribution_credits" in tables,
        }
    return {}


def latest_dt(con: duckdb.DuckDBPyConnection, table: str, ds: str | None = None) -> str | None:
    where = f"WHERE dt <= '{ds}'" if ds else ""
    return con.execute(f'SELECT max(dt) FROM "{table}" {where}').fetchall()[0][0]


def default_ds(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str:
    for table in ("campaign_kpis_daily", "curated_campaigns", "curated_spend"):
        if table in tables:
            found = latest_dt(con, table)
            if found:
                return found
    return date.today().isoformat()


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _table(relation: duckdb.DuckDBPyRelation) -> dict[str, Any]:
    return {
        "columns": list(relation.columns),
        "rows": [[_json_value(v) for v in row] for row in relation.fetchall()],
    }


def mart_relation(
    con: duckdb.DuckDBPyConnection,
    name: str,
    ds: str,
    tables: set[str],
    model: str = "linear",
) -> duckdb.DuckDBPyRelation | None:
    """The mart's ``ds`` partition, or its SQL run in memory when it was not built; None if impossible."""
    if name in tables and con.execute(f'SELECT count(*) FROM "{name}" WHERE dt = ?', [ds]).fetchall()[0][0]:
        relation = con.sql(f"SELECT * EXCLUDE (dt) FROM \"{name}\" WHERE dt = '{ds}'")
        if name != "campaign_kpis_daily" or "model" not in relation.columns:
            return relation
        built_model = con.execute(f"SELECT max(model) FROM \"{name}\" WHERE dt = '{ds}'").fetchall()[0][0]
        if built_model in (None, model):
            return relation
    if not set(MART_INPUTS[name]) <= tables:
        return None
    return con.sql(sqlfiles.render_duckdb(MART_SQL[name], ds, mart_params(name, tables, model)))


def _at_latest(table: str, ds: str) -> str:
    return f'(SELECT * FROM "{table}" WHERE dt = (SELECT max(dt) FROM "{table}" WHERE dt <= \'{ds}\'))'


# The dashboard queries are DuckDB SQL with {table} slots; the aws target's reader (adplan.insights.athena)
# transpiles the same text to Athena SQL with sqlglot.
KPIS_DAILY_SQL = (
    'SELECT CAST("date" AS VARCHAR) AS "date", advertiser_id, campaign_id, channel, '
    "sum(impressions) AS impressions, sum(clicks) AS clicks, round(sum(spend), 6) AS spend, "
    "round(sum(conversions), 6) AS conversions, round(sum(revenue), 6) AS revenue "
    'FROM {campaign_kpis_daily} GROUP BY "date", advertiser_id, campaign_id, channel ORDER BY 1, 2, 3, 4'
)
CAMPAIGNS_SQL = (
    "SELECT campaign_id, min(advertiser_id) AS advertiser_id, min(campaign_name) AS campaign_name, "
    "min(currency) AS currency FROM {curated_campaigns} GROUP BY campaign_id ORDER BY campaign_id"
)

# Dashboard queries over the other use cases' tables: name -> (required tables, SQL with {src} slots).
_QUERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "channel_roas": (
        ("channel_roas",),
        "SELECT model, channel, campaign_id, spend, conversions, value, roas, cpa FROM {channel_roas} "
        "ORDER BY model, channel, campaign_id NULLS FIRST",
    ),
    "attribution_models": (
        ("attribution_credits",),
        "SELECT model, channel, sum(conversions) AS conversions, sum(value) AS value "
        "FROM {attribution_credits} GROUP BY model, channel ORDER BY model, channel",
    ),
    "budget_recommendation": (
        ("budget_recommendation",),
        "SELECT * EXCLUDE (dt) FROM {budget_recommendation}",
    ),
    "segments": (
        ("segments",),
        "SELECT segment_id, segment_name, segment_type, size, share_of_profiles, consented_for_ads, "
        "avg_order_value, avg_ltv FROM {segments} ORDER BY size DESC, segment_id",
    ),
    "segment_overlap": (
        ("segment_overlap",),
        "SELECT segment_a, segment_b, overlap, size_a, size_b, jaccard FROM {segment_overlap} "
        "ORDER BY segment_a, segment_b",
    ),
    "quarantine_counts": (
        ("quarantine",),
        "SELECT source, reason, count(*) AS quarantined_rows FROM {quarantine} "
        "GROUP BY source, reason ORDER BY source, reason",
    ),
    "hygiene_reconciliation": (
        ("hygiene_reconciliation",),
        "SELECT source, rows_in, accepted, quarantined, rejected_share, passed FROM {hygiene_reconciliation} "
        "ORDER BY source",
    ),
    "identity_match_rates": (
        ("identity_graph",),
        "SELECT source, count(*) AS records, count_if(match_rule IS NOT NULL) AS matched, "
        "round(count_if(match_rule IS NOT NULL) / count(*), 6) AS match_rate, "
        "count(DISTINCT person_id) AS people FROM {identity_graph} GROUP BY source ORDER BY source",
    ),
}


def load_dashboard_data(
    ds: str | None = None,
    model: str = "linear",
    warehouse: Warehouse | None = None,
) -> dict[str, Any]:
    """Every dashboard table for ``ds`` (default: the latest date in the warehouse)."""
    model = check_model(model)
    warehouse = warehouse or Warehouse.from_settings()
    con = warehouse.connect()
    try:
        tables = existing_tables(con)
        ds = check_ds(ds) if ds else default_ds(con, tables)
        out: dict[str, Any] = {t: None for t in TABLES}

        kpis = mart_relation(con, "campaign_kpis_daily", ds, tables, model)
        if kpis is not None:
            out["kpis_daily"] = _table(kpis.query("kpis", KPIS_DAILY_SQL.format(campaign_kpis_daily="kpis")))
        for name in ("campaign_pacing", "reach_frequency"):
            relation = mart_relation(con, name, ds, tables, model)
            if relation is not None:
                out[name] = _table(relation)
        for name, (needs, sql) in _QUERIES.items():
            if set(needs) <= tables and latest_dt(con, needs[0], ds):
                out[name] = _table(con.sql(sql.format(**{t: _at_latest(t, ds) for t in needs})))

        campaigns: list[dict[str, Any]] = []
        if "curated_campaigns" in tables:
            relation = con.sql(CAMPAIGNS_SQL.format(curated_campaigns=_at_latest("curated_campaigns", ds)))
            campaigns = records(_table(relation))
    finally:
        con.close()
    return {
        "ds": ds,
        "model": model,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "campaigns": campaigns,
        "tables": out,
    }


def load_dashboard_data_athena(ds: str | None = None, model: str = "linear") -> dict[str, Any]:
    """aws target: the same tables read through Athena, with query result reuse (``adplan.insights.athena``)."""
    from adplan.insights.athena import AthenaReader

    return AthenaReader().load_dashboard_data(ds, model)


def load_for_target(ds: str | None = None, model: str = "linear") -> dict[str, Any]:
    from adplan.settings import get_settings

    if get_settings().target == "aws":
        return load_dashboard_data_athena(ds, model)
    return load_dashboard_data(ds, model)


def records(table: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not table:
        return []
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return round(numerator * scale / denominator, 6) if denominator else None


def kpi_totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The KPI tiles over some rows of ``kpis_daily`` (the report's JavaScript computes the same)."""
    sums = dict.fromkeys(KPI_SUMS, 0.0)
    for row in rows:
        for key in KPI_SUMS:
            sums[key] += row.get(key) or 0
    return {
        "impressions": int(sums["impressions"]),
        "clicks": int(sums["clicks"]),
        "spend": round(sums["spend"], 6),
        "conversions": round(sums["conversions"], 6),
        "revenue": round(sums["revenue"], 6),
        "ctr": _ratio(sums["clicks"], sums["impressions"]),
        "cpm": _ratio(sums["spend"], sums["impressions"], 1000.0),
        "cpc": _ratio(sums["spend"], sums["clicks"]),
        "cpa": _ratio(sums["spend"], sums["conversions"]),
        "roas": _ratio(sums["revenue"], sums["spend"]),
    }


def filter_kpis(
    data: dict[str, Any],
    campaign_id: str | None = None,
    advertiser_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> list[dict[str, Any]]:
    return [
        row
        for row in records(data["tables"].get("kpis_daily"))
        if (not campaign_id or row["campaign_id"] == campaign_id)
        and (not advertiser_id or row["advertiser_id"] == advertiser_id)
        and (not date_from or row["date"] >= date_from)
        and (not date_to or row["date"] <= date_to)
    ]
