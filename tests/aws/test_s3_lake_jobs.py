"""The attribution and audience jobs on an S3 lake (moto's server), against the same jobs on a local lake.

Both lakes are seeded with the same curated tables: a generated world run through hygiene and identity
resolution (attribution), and a synthetic audience world (audiences). The jobs then run once with
``lake=<folder>`` and twice with ``lake=s3://<bucket>`` (the argument the aws target's Glue job passes):
the S3 outputs must hold the same rows as the local ones, the exports on S3 no raw personal data and
counts that reconcile with the segment sizes, and the second run must replace, not add.

DuckDB reaches moto through ``adplan.s3files`` (boto3 registered as a DuckDB file system): nothing here
downloads an extension or leaves this machine.
"""

from __future__ import annotations

import io
import json
import re

import duckdb
import pandas as pd
import pytest
from moto_local import moto_server

from adplan import jobs
from adplan.audiences import jobs as audience_jobs
from adplan.audiences import synthetic
from adplan.lake import Lake, S3Lake
from adplan.settings import get_settings
from adplan.warehouse import Warehouse

DS = "2026-11-28"
BUCKET = "adplan-s3-lake-test"
S3_ROOT = f"s3://{BUCKET}"
SOURCES = (
    "crm_customers",
    "orders",
    "publisher_audience",
    "identity_events",
    "ad_impressions",
    "ad_clicks",
    "spend",
)
ATTRIBUTION_INPUTS = (
    "curated_ad_impressions",
    "curated_ad_clicks",
    "curated_orders",
    "curated_spend",
    "identity_graph",
)
ATTRIBUTION_TABLES = (
    "attribution_credits",
    "attribution_incrementality",
    "channel_roas",
    "budget_recommendation",
)
AUDIENCE_TABLES = (
    "profiles",
    "segments",
    "segment_members",
    "segment_overlap",
    "lookalike_scores",
    "activation_exports",
)
ATTRIBUTE_PARAMS = {"models": "all", "lookback_days": "30", "n_bootstrap": "10"}
BUDGET_PARAMS = {"flight_days": "14", "model": "incrementality", "max_share": "0.5", "n_bootstrap": "10"}
EXPORT_SEGMENTS = "high_value_loyal,lapsed_buyers"
EXPORT_DESTINATIONS = "meta_custom_audience,google_customer_match"


@pytest.fixture(scope="module")
def moto_endpoint():
    with moto_server() as endpoint:
        s3_client().create_bucket(Bucket=BUCKET)
        yield endpoint


def s3_client():
    from adplan.s3files import s3_client as make

    return make("us-east-1")


def read_parquet_s3(client, key: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(client.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def all_keys(client, prefix: str = "") -> list[str]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order, for comparing two runs' tables (the order of rows is not a contract)."""
    frame = frame.drop(columns=[c for c in ("created_at", "dt") if c in frame.columns])
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])] or list(frame.columns)
    return frame.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)


def rounded(value):
    """A summary with floats to 9 significant digits (model fits sum doubles in parallel: last bits vary)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def upload_tables(local: Lake, s3: S3Lake, tables: tuple[str, ...] | None = None) -> None:
    """Copy the curated partitions of ``local`` to ``s3``, object for file."""
    for zone, table in local.tables():
        if zone != "curated" or (tables is not None and table not in tables):
            continue
        for date in local.partitions(zone, table):
            relative = local.relative(str(local.partition_file(zone, table, date)))
            s3.write_bytes(relative, local.partition_file(zone, table, date).read_bytes())


# --- attribution ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attribution_runs(moto_endpoint, tmp_path_factory, resolved_world):
    """Both lakes seeded with one generated world's curated tables; the jobs run on each."""
    home = tmp_path_factory.mktemp("s3-attribution-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    try:
        resolved_world(home, DS, people=800, days=14, seed=5, sources=SOURCES)
        local = Lake.from_settings()
        s3 = S3Lake(S3_ROOT)
        upload_tables(local, s3, ATTRIBUTION_INPUTS)
        # The local answer, on a folder lake holding only the same inputs.
        reference = Lake(home / "reference-lake")
        for table in ATTRIBUTION_INPUTS:
            for date in local.partitions("curated", table):
                target = reference.partition_file("curated", table, date)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(local.partition_file("curated", table, date).read_bytes())
        local_summary = {
            "attribute": jobs.run(
                "attribution.attribute", DS, {**ATTRIBUTE_PARAMS, "lake": str(reference.root)}
            ),
            "budget": jobs.run("attribution.plan_budget", DS, {**BUDGET_PARAMS, "lake": str(reference.root)}),
        }
        client = s3_client()
        runs = []
        for _ in range(2):  # the second run must replace the first's partitions
            summary = {
                "attribute": jobs.run("attribution.attribute", DS, {**ATTRIBUTE_PARAMS, "lake": S3_ROOT}),
                "budget": jobs.run("attribution.plan_budget", DS, {**BUDGET_PARAMS, "lake": S3_ROOT}),
            }
            tables = {
                table: read_parquet_s3(client, f"analytics/{table}/dt={DS}/data.parquet")
                for table in ATTRIBUTION_TABLES
            }
            runs.append({"summary": summary, "tables": tables, "keys": all_keys(client, "analytics/")})
        yield {
            "local": {
                "summary": local_summary,
                "tables": {
                    table: pd.read_parquet(reference.partition_file("analytics", table, DS))
                    for table in ATTRIBUTION_TABLES
                },
            },
            "s3": runs,
            "local_catalog_untouched": not (home / "warehouse.duckdb").exists()
            or "attribution_credits" not in catalog_views(home / "warehouse.duckdb"),
        }
    finally:
        patch.undo()
        get_settings.cache_clear()


def catalog_views(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            row[0]
            for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
    finally:
        con.close()


def test_attribution_on_s3_writes_the_local_answer(attribution_runs):
    local = attribution_runs["local"]
    first = attribution_runs["s3"][0]
    for table in ATTRIBUTION_TABLES:
        assert len(first["tables"][table]) > 0, table
        pd.testing.assert_frame_equal(
            normalized(first["tables"][table]),
            normalized(local["tables"][table]),
            check_dtype=False,
            obj=table,
        )
    assert first["summary"]["attribute"]["attributed_conversions"] > 0
    assert rounded(first["summary"]["attribute"]) == rounded(local["summary"]["attribute"])
    assert rounded(first["summary"]["budget"]) == rounded(local["summary"]["budget"])
    # the S3 run wrote to S3 only: the local target's catalog did not get its tables
    assert attribution_runs["local_catalog_untouched"]


def test_attribution_rerun_on_s3_replaces(attribution_runs):
    first, second = attribution_runs["s3"]
    assert (
        first["keys"]
        == second["keys"]
        == [f"analytics/{table}/dt={DS}/data.parquet" for table in sorted(ATTRIBUTION_TABLES)]
    )
    for table in ATTRIBUTION_TABLES:
        pd.testing.assert_frame_equal(
            normalized(second["tables"][table]), normalized(first["tables"][table]), obj=table
        )


# --- audiences -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audience_runs(moto_endpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("s3-audience-lake")
    local = Lake(root / "lake")
    s3 = S3Lake(S3_ROOT)
    con = duckdb.connect()
    synthetic.build_world(con, 3000, DS, seed=4)
    synthetic.write_world(con, local, DS)
    synthetic.write_world(con, s3, DS)  # a plain connection: staged locally and uploaded
    raw = {
        "emails": {
            row[0]
            for row in con.execute(
                "SELECT email FROM curated_crm_customers WHERE email IS NOT NULL"
            ).fetchall()
        },
        "phones": {
            row[0]
            for row in con.execute(
                "SELECT phone FROM curated_crm_customers WHERE phone IS NOT NULL"
            ).fetchall()
        },
    }
    con.close()
    enrichment_rows = pd.DataFrame(
        {"customer_id": [f"C{i:08d}" for i in range(30)], "segment": ["high_value_loyal"] * 30,
         "interest": ["outdoors"] * 20 + ["cooking"] * 10, "age_band": ["25-34"] * 30, "region": ["west"] * 30}
    )  # fmt: skip

    def run_all(lake: str) -> dict[str, object]:
        return {
            "profiles": audience_jobs.build_profiles(DS, lake=lake),
            "segments": audience_jobs.build_segments(DS, lake=lake),
            "lookalikes": audience_jobs.score_lookalikes(DS, seed_segment="high_value_loyal", lake=lake),
            "enrichment": audience_jobs.enrich_segments(DS, run_query=lambda sql: enrichment_rows, lake=lake),
            "exports": jobs.run(
                "audiences.export_activation",
                DS,
                {"segments": EXPORT_SEGMENTS, "destinations": EXPORT_DESTINATIONS, "lake": lake},
            ),
        }

    local_summary = run_all(str(local.root))
    client = s3_client()
    runs = []
    for _ in range(2):
        summary = run_all(S3_ROOT)
        tables = {
            table: read_parquet_s3(client, f"analytics/{table}/dt={DS}/data.parquet")
            for table in (*AUDIENCE_TABLES, "segment_enrichment")
        }
        export_keys = all_keys(client, "analytics/activation/")
        exports = {key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in export_keys}
        model = client.get_object(
            Bucket=BUCKET, Key=f"analytics/lookalike_models/high_value_loyal/dt={DS}/model.json"
        )
        runs.append(
            {
                "summary": summary,
                "tables": tables,
                "exports": exports,
                "model": json.loads(model["Body"].read()),
            }
        )
    with pytest.raises(ValueError, match="needs the result_location"):
        audience_jobs.enrich_segments(DS, lake=S3_ROOT)
    # The clean-room DAG's way on aws: the `enrichment` protected query wrote the same rows below the
    # location it reported (Clean Rooms adds its own folders), and the job summarizes them from there.
    location = f"{S3_ROOT}/cleanrooms/results/dt={DS}/enrichment/query-1"
    buffer = io.BytesIO()
    enrichment_rows.to_parquet(buffer)
    s3_client().put_object(
        Bucket=BUCKET, Key=f"{location[len(S3_ROOT) + 1 :]}/result/part-0.parquet", Body=buffer.getvalue()
    )
    from_result = audience_jobs.enrich_segments(DS, lake=S3_ROOT, result_location=location)
    from_result_table = read_parquet_s3(s3_client(), f"analytics/segment_enrichment/dt={DS}/data.parquet")
    with pytest.raises(FileNotFoundError, match="no PARQUET result of the enrichment query"):
        audience_jobs.enrich_segments(DS, lake=S3_ROOT, result_location=f"{S3_ROOT}/cleanrooms/results/none")
    # Read back through the warehouse over S3, as a later task would.
    warehouse = Warehouse.at(S3_ROOT)
    assert warehouse.catalog_path is None
    view_con = warehouse.connect()
    try:
        views = {
            row[0]
            for row in view_con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        members_by_view = view_con.execute(
            "SELECT count(*) FROM segment_members WHERE dt = ?", [DS]
        ).fetchall()[0][0]
    finally:
        view_con.close()
    return {
        "local": {
            "summary": local_summary,
            "tables": {
                table: pd.read_parquet(local.partition_file("analytics", table, DS))
                for table in (*AUDIENCE_TABLES, "segment_enrichment")
            },
            "exports": sorted(
                path.relative_to(local.root).as_posix()
                for path in (local.root / "analytics" / "activation").rglob("*")
                if path.is_file()
            ),
        },
        "s3": runs,
        "from_result": (from_result, from_result_table),
        "raw": raw,
        "views": views,
        "members_by_view": members_by_view,
    }


def test_audience_tables_on_s3_equal_the_local_ones(audience_runs):
    local = audience_runs["local"]
    first = audience_runs["s3"][0]
    for table in (*AUDIENCE_TABLES, "segment_enrichment"):
        assert len(first["tables"][table]) > 0, table
        pd.testing.assert_frame_equal(
            normalized(first["tables"][table]),
            normalized(local["tables"][table]),
            check_dtype=False,
            obj=table,
        )
    for job in ("profiles", "segments", "enrichment", "exports"):
        assert rounded(first["summary"][job]) == rounded(local["summary"][job]), job
    assert (
        first["summary"]["lookalikes"]["seeds"]["high_value_loyal"]["candidates"]
        == (local["summary"]["lookalikes"]["seeds"]["high_value_loyal"]["candidates"])
    )
    assert "coefficients" in first["model"]
    assert sorted(first["exports"]) == local["exports"]
    assert set(AUDIENCE_TABLES) <= audience_runs["views"]
    assert audience_runs["members_by_view"] == first["summary"]["segments"]["memberships"]


def test_exports_on_s3_hold_only_hashes_and_reconcile(audience_runs):
    first = audience_runs["s3"][0]
    sizes = first["summary"]["segments"]["sizes"]
    manifests = {
        key: json.loads(body) for key, body in first["exports"].items() if key.endswith("manifest.json")
    }
    assert len(manifests) == 4  # two segments x two destinations
    raw_values = audience_runs["raw"]["emails"] | audience_runs["raw"]["phones"]
    for key, manifest in manifests.items():
        folder = key.rsplit("/", 1)[0]
        counts = manifest["reconciliation"]
        assert counts["segment_size"] == sizes[manifest["segment_id"]]
        assert (
            counts["segment_size"]
            == counts["exported"] + counts["without_ads_consent"] + counts["without_identifiers"]
        )
        parts = {k: v for k, v in first["exports"].items() if k.startswith(folder + "/part-")}
        assert sorted(k.rsplit("/", 1)[1] for k in parts) == [f["name"] for f in manifest["files"]]
        rows = 0
        for body in parts.values():
            lines = body.decode("utf-8").splitlines()
            rows += len(lines) - 1
            for line in lines[1:]:
                for value in line.split(","):
                    assert value == "" or re.fullmatch(r"[0-9a-f]{64}", value), value
                    assert value not in raw_values
            assert "@" not in body.decode("utf-8")
        assert rows == manifest["total_rows"] == counts["exported"]
    table = first["tables"]["activation_exports"]
    assert sorted(table["path"]) == sorted(key.rsplit("/", 1)[0] for key in manifests)


def test_enrichment_from_the_protected_querys_result_on_s3_equals_the_direct_query(audience_runs):
    summary, table = audience_runs["from_result"]
    assert summary == audience_runs["s3"][-1]["summary"]["enrichment"]
    pd.testing.assert_frame_equal(
        normalized(table), normalized(audience_runs["s3"][-1]["tables"]["segment_enrichment"])
    )


def test_audience_rerun_on_s3_replaces(audience_runs):
    first, second = audience_runs["s3"]
    assert sorted(first["exports"]) == sorted(second["exports"])
    for key in first["exports"]:
        if not key.endswith("manifest.json"):  # the manifest carries its creation time
            assert first["exports"][key] == second["exports"][key], key
    for table in (*AUDIENCE_TABLES, "segment_enrichment"):
        pd.testing.assert_frame_equal(
            normalized(second["tables"][table]), normalized(first["tables"][table]), obj=table
        )
