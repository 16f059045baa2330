"""The clean_room_collaboration jobs on a small hand-made lake: configured tables, then the analyses."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import duckdb
import pyarrow as pa
import pytest

from adplan.cleanroom import AggregationRule, ListRule, load_collaboration
from adplan.cleanroom import jobs as cr_jobs
from adplan.lake import Lake
from adplan.settings import get_settings
from adplan.warehouse import Warehouse

DS = "2026-11-28"
DAY = dt.datetime(2026, 11, 28)
CUSTOMERS = range(0, 300)  # CRM customers are people 0..299
AUDIENCE = range(100, 400)  # the publisher knows people 100..399
LINKED = range(0, 350)  # people whose device an identity event links to their email
SEGMENT_B = range(0, 150)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def email(i: int) -> str:
    return f"person{i}@example.com"


def phone(i: int) -> str:
    return f"+1555{i:07d}"


def consent(i: int) -> bool:
    return i % 10 != 9


def audience_email(i: int) -> str | None:
    return sha(email(i)) if i % 2 == 0 else None  # odd people are known to the publisher by phone only


def write(lake: Lake, zone: str, table: str, rows: list[dict]) -> None:
    lake.write_partition(zone, table, DS, pa.Table.from_pylist(rows))


def build_lake(lake: Lake) -> None:
    write(lake, "curated", "curated_crm_customers", [
        {"customer_id": f"C{i:04d}", "email": email(i), "email_sha256": sha(email(i)),
         "phone_sha256": sha(phone(i)), "state": "CA" if i % 2 else "NY", "consent_ads": consent(i)}
        for i in CUSTOMERS
    ])  # fmt: skip
    write(lake, "curated", "curated_orders", [
        {"order_id": f"O{i:04d}", "email_sha256": sha(email(i)),
         "order_ts": DAY - dt.timedelta(days=2, hours=i % 20), "order_value": 10.0 + i % 50}
        for i in CUSTOMERS
    ])  # fmt: skip
    write(lake, "curated", "curated_publisher_audience", [
        {"publisher_id": "PUB1", "audience_record_id": f"A{i:04d}", "email_sha256": audience_email(i),
         "phone_sha256": sha(phone(i)), "maid_sha256": sha(f"maid{i}"),
         "interests": "sports;travel" if i % 3 else "cooking", "age_band": "25-34" if i % 2 else "35-44",
         "region": "west"}
        for i in AUDIENCE
    ])  # fmt: skip
    impressions, clicks = [], []
    for i in range(400):
        for k in range(i % 3 + 1):
            impressions.append(
                {"impression_id": f"I{i:04d}{k}", "ts": DAY - dt.timedelta(days=5, hours=k), "campaign_id": "CMP1",
                 "creative_id": f"CR{k % 2}", "channel": "display", "publisher_id": "PUB1",
                 "device_id": f"D{i:04d}", "cookie_id": None}
            )  # fmt: skip
        clicks.append(
            {"click_id": f"K{i:04d}", "impression_id": f"I{i:04d}0", "ts": DAY - dt.timedelta(days=5),
             "campaign_id": "CMP1", "creative_id": "CR0", "device_id": f"D{i:04d}", "cookie_id": None}
        )  # fmt: skip
    write(lake, "curated", "curated_ad_impressions", impressions)
    write(lake, "curated", "curated_ad_clicks", clicks)
    write(lake, "curated", "curated_identity_events", [
        {"event_id": f"E{i:010d}", "ts": DAY - dt.timedelta(days=10), "device_id": f"D{i:04d}", "cookie_id": None,
         "email_sha256": sha(email(i)), "event_type": "login"}
        for i in LINKED
    ])  # fmt: skip
    graph = [{"source": "crm_customers", "record_id": f"C{i:04d}", "person_id": f"P{i}"} for i in CUSTOMERS]
    graph += [{"source": "orders", "record_id": f"O{i:04d}", "person_id": f"P{i}"} for i in CUSTOMERS]
    graph += [{"source": "ad_devices", "record_id": f"D{i:04d}", "person_id": f"P{i}"} for i in range(400)]
    write(lake, "curated", "identity_graph", graph)
    members = [{"segment_id": "seg_a", "person_id": f"P{i}"} for i in CUSTOMERS]
    members += [{"segment_id": "seg_b", "person_id": f"P{i}"} for i in SEGMENT_B]
    write(lake, "analytics", "segment_members", members)
    write(
        lake,
        "analytics",
        "profiles",
        [{"person_id": f"P{i}", "ltv_tier": "high" if i % 4 else "low"} for i in CUSTOMERS],
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cleanroom-jobs")
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    try:
        build_lake(Lake.from_settings())
        Warehouse.from_settings().refresh_catalog()
        prepared = cr_jobs.prepare_tables(DS)
        analysed = cr_jobs.run_analyses(DS)
        yield {"prepared": prepared, "analysed": analysed, "lake": Lake.from_settings()}
    finally:
        patch.undo()
        get_settings.cache_clear()


def read(lake: Lake, zone: str, table: str):
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{lake.partition_file(zone, table, DS)}', hive_partitioning = false)"
    ).df()


def minimum_threshold() -> int:
    collaboration = load_collaboration()
    return min(
        constraint.minimum
        for table in collaboration.configured_tables.values()
        if isinstance(table.analysis_rule, AggregationRule)
        for constraint in table.analysis_rule.output_constraints
    )


def test_prepare_tables_writes_every_configured_table(home):
    tables = home["prepared"]["tables"]
    assert set(tables) == set(cr_jobs.TABLE_SQL)
    consenting = sum(consent(i) for i in CUSTOMERS)
    assert tables["cr_advertiser_customers"] == consenting + sum(consent(i) for i in SEGMENT_B)
    assert tables["cr_advertiser_conversions"] == len(CUSTOMERS)
    assert tables["cr_publisher_audience"] == sum(2 if i % 3 else 1 for i in AUDIENCE)
    assert tables["cr_publisher_impressions"] == sum(i % 3 + 1 for i in LINKED)
    conversions = read(home["lake"], "cleanrooms", "cr_advertiser_conversions")
    assert set(conversions["creative_id"]) == {"CR0"}  # last click, through the identity graph


def test_every_analysis_succeeds_and_is_loaded(home):
    results = home["analysed"]["analyses"]
    assert set(results) == set(cr_jobs.ANALYSES)
    for name, result in results.items():
        assert result["status"] == "SUCCESS"
        assert result["query_id"]
        assert len(read(home["lake"], "cleanrooms", f"cleanroom_results_{name}")) == result["rows"]
    assert results["enrichment"]["member"] == "advertiser"


def test_aggregation_results_meet_the_threshold(home):
    minimum = minimum_threshold()
    lake = home["lake"]
    counts = {
        "audience_overlap": ["matched_customers", "matched_audience"],
        "overlap_by_segment": ["matched_customers", "matched_audience"],
        "reach_frequency": ["reach"],
    }
    for name, columns in counts.items():
        frame = read(lake, "cleanrooms", f"cleanroom_results_{name}")
        assert len(frame) > 0, name
        for column in columns:
            assert (frame[column] >= minimum).all(), (name, column)


def test_overlap_counts_equal_an_independent_count(home):
    minimum = minimum_threshold()
    lake = home["lake"]
    matched = {
        i
        for i in CUSTOMERS
        if consent(i) and i in AUDIENCE  # by email (even) or phone (odd)
    }
    overlap = read(lake, "cleanrooms", "cleanroom_results_audience_overlap")
    assert overlap["matched_customers"].tolist() == [len(matched)]
    assert overlap["matched_audience"].tolist() == [sum(1 for i in matched if i % 2 == 0)]
    by_segment = read(lake, "cleanrooms", "cleanroom_results_overlap_by_segment").set_index("segment")
    expected = {"seg_a": len(matched), "seg_b": len([i for i in matched if i in SEGMENT_B])}
    for segment, count in expected.items():
        if count >= minimum:
            assert by_segment.loc[segment, "matched_customers"] == count
        else:
            assert segment not in by_segment.index  # suppressed, no trace
    reach = read(lake, "cleanrooms", "cleanroom_results_reach_frequency").set_index("segment")
    reached = [i for i in CUSTOMERS if consent(i) and i in LINKED]
    assert reach.loc["seg_a", "reach"] == len(reached)
    assert reach.loc["seg_a", "impressions"] == sum(i % 3 + 1 for i in reached)


def test_enrichment_returns_list_columns_only(home):
    collaboration = load_collaboration()
    list_columns = set()
    for table in collaboration.configured_tables.values():
        if isinstance(table.analysis_rule, ListRule):
            list_columns |= table.analysis_rule.list_columns
    frame = read(home["lake"], "cleanrooms", "cleanroom_results_enrichment")
    assert len(frame) > 0
    assert set(frame.columns) <= list_columns
    assert set(frame["interest"].dropna()) <= {"sports", "travel", "cooking"}


def test_outputs_hold_no_raw_identifiers(home):
    lake = home["lake"]
    raw = re.compile(r"@|\+1555")
    tables = list(cr_jobs.TABLE_SQL) + [f"cleanroom_results_{name}" for name in cr_jobs.ANALYSES]
    for table in tables:
        frame = read(lake, "cleanrooms", table)
        assert "email" not in frame.columns and "phone" not in frame.columns
        for column in frame.columns:
            values = frame[column].dropna().astype(str)
            assert not values.str.contains(raw).any(), (table, column)
            if column.endswith("_sha256"):
                assert values.str.fullmatch(r"[0-9a-f]{64}").all(), (table, column)


def test_a_failed_query_raises_with_its_error(home, monkeypatch):
    monkeypatch.setitem(
        cr_jobs.ANALYSES,
        "leaky",
        cr_jobs.Analysis("leaky", sql="cleanroom/analyses/enrichment.sql", member="agency"),
    )
    with pytest.raises(cr_jobs.CleanRoomAnalysisError) as raised:
        cr_jobs.run_analyses(DS, analyses="leaky")
    assert raised.value.status == "FAILED"
    assert raised.value.code
    assert not home["lake"].partitions("cleanrooms", "cleanroom_results_leaky")


def test_one_analysis_as_its_own_protected_query(home):
    summary = cr_jobs.run_protected_query(
        DS, "reach_frequency", params={"campaign_id": "CMP1"}, result_format="CSV"
    )
    assert (summary["analysis"], summary["status"], summary["member"]) == (
        "reach_frequency",
        "SUCCESS",
        "agency",
    )
    assert summary["location"].endswith(f"/{summary['query_id']}/result.csv")
    frame = read(home["lake"], "cleanrooms", "cleanroom_results_reach_frequency")
    assert len(frame) == summary["rows"] > 0
    assert (frame["reach"] >= minimum_threshold()).all()


def test_conversions_by_creative_drops_rows_without_an_unexposed_baseline(home):
    # Every consenting customer here saw an impression: no unexposed baseline of 100, so no row leaves.
    summary = cr_jobs.run_protected_query(DS, "conversions_by_creative")
    assert summary["status"] == "SUCCESS"
    assert summary["rows"] == 0
    frame = read(home["lake"], "cleanrooms", "cleanroom_results_conversions_by_creative")
    assert "exposed_conversion_rate" in frame.columns and frame.empty


def test_local_builder_runs_the_job_for_one_analysis():
    from airflow.sdk import DAG

    from adplan.cleanroom.analyses import ANALYSES
    from adplan.dag_defaults import dag_kwargs
    from adplan.targets import builders

    with DAG("t", **dag_kwargs()) as dag:
        builders("local").protected_query("conversions_by_creative", "conversions_by_creative")
        builders("local").protected_query("overlap", "audience_overlap")
    task = dag.get_task("conversions_by_creative")
    assert type(task).__name__ == "_PythonDecoratedOperator"
    assert task.op_kwargs == {"parameters": dict(ANALYSES["conversions_by_creative"].parameters)}
    assert dag.get_task("overlap").op_kwargs == {"parameters": {}}
