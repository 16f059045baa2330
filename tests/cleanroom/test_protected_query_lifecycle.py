"""Protected queries: statuses, record shape, result files, timeouts and cancellation."""

from __future__ import annotations

import threading
import time

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from adplan.cleanroom import TERMINAL_STATUSES, CleanRoom, Collaboration, wait_until_terminal

from .conftest import collaboration_document

OVERLAP = (
    "SELECT c.segment, COUNT(DISTINCT c.email_sha256) AS overlap FROM adv_customers c "
    "JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY c.segment"
)
# Three-way self join with inequalities: far too slow to finish within the test timeouts.
SLOW = (
    "SELECT COUNT(*) AS n FROM pub_impressions_any a JOIN pub_impressions_any b ON a.ts < b.ts "
    "JOIN pub_impressions_any c ON b.ts < c.ts JOIN pub_impressions_any d ON c.ts < d.ts"
)


def test_record_is_shaped_like_get_protected_query(room, tmp_path):
    record = room.start_protected_query("advertiser", OVERLAP, "PARQUET", tmp_path)
    assert set(record) >= {"id", "membershipId", "membershipArn", "createTime", "sqlParameters", "status"}
    assert record["status"] == "SUCCESS"
    assert record["sqlParameters"] == {"queryString": OVERLAP}
    assert record["resultConfiguration"]["outputConfiguration"]["s3"]["resultFormat"] == "PARQUET"
    assert record["statistics"]["totalDurationInMillis"] >= 0
    assert "error" not in record
    location = record["result"]["output"]["s3"]["location"]
    assert location.endswith(f"{record['id']}/result.parquet")
    assert pq.read_table(location).column_names == ["segment", "overlap"]
    assert room.get_protected_query(record["id"]) == record


def test_csv_result_and_membership_ids(room, tmp_path):
    first = room.start_protected_query("advertiser", OVERLAP, "CSV", tmp_path)
    second = room.start_protected_query(
        "agency", OVERLAP.replace("pub_audience", "adv_customers"), "CSV", tmp_path
    )
    frame = pd.read_csv(first["result"]["output"]["s3"]["location"])
    assert list(frame.columns) == ["segment", "overlap"]
    assert first["membershipId"] != second["membershipId"]
    assert first["id"] != second["id"]


def test_unknown_result_format_fails(room, tmp_path):
    record = room.start_protected_query("advertiser", OVERLAP, "JSON", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "MALFORMED_QUERY"


def test_unknown_query_id(room):
    with pytest.raises(Exception, match="RESOURCE_NOT_FOUND"):
        room.get_protected_query("00000000-0000-0000-0000-000000000000")


def test_asynchronous_start_goes_through_started(room, tmp_path):
    record = room.start_protected_query("agency", SLOW, "CSV", tmp_path, wait=False, timeout_seconds=0.5)
    assert record["status"] in {"SUBMITTED", "STARTED"}
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = room.get_protected_query(record["id"])["status"]
        seen.add(status)
        if status in TERMINAL_STATUSES:
            break
        time.sleep(0.01)
    assert "STARTED" in seen
    final = room.get_protected_query(record["id"])
    assert final["status"] == "TIMED_OUT"
    assert final["error"]["code"] == "TIMED_OUT"
    assert "result" not in final


def test_timeout(room, tmp_path):
    started = time.monotonic()
    record = room.start_protected_query("agency", SLOW, "CSV", tmp_path, timeout_seconds=0.3)
    assert record["status"] == "TIMED_OUT"
    assert time.monotonic() - started < 5
    assert not list(tmp_path.rglob("result.*"))


def test_cancel_running_and_submitted_queries(room, tmp_path):
    running = room.start_protected_query("agency", SLOW, "CSV", tmp_path, wait=False, timeout_seconds=30)
    queued = room.start_protected_query("agency", SLOW, "CSV", tmp_path, wait=False, timeout_seconds=30)
    assert room.cancel_protected_query(queued["id"])["status"] == "CANCELLED"  # one worker: still SUBMITTED
    while room.get_protected_query(running["id"])["status"] == "SUBMITTED":
        time.sleep(0.01)
    assert room.cancel_protected_query(running["id"])["status"] in {"CANCELLING", "CANCELLED"}
    final = wait_until_terminal(room, running["id"], timeout=10)
    assert final["status"] == "CANCELLED"
    assert room.get_protected_query(queued["id"])["status"] == "CANCELLED"


def test_concurrent_queries_on_two_workers(collaboration, warehouse, tmp_path):
    with CleanRoom(collaboration, warehouse, state_dir=tmp_path, max_concurrent_queries=2) as room:
        records = [
            room.start_protected_query("advertiser", OVERLAP, "CSV", tmp_path, wait=False) for _ in range(4)
        ]
        finals = [room.wait_for_protected_query(record["id"], timeout=30) for record in records]
    assert [final["status"] for final in finals] == ["SUCCESS"] * 4
    assert threading.active_count() < 50


def test_member_who_cannot_receive_results(warehouse, tmp_path):
    document = collaboration_document()
    document["members"][1]["memberAbilities"] = ["CAN_QUERY"]
    with CleanRoom(Collaboration.from_dict(document), warehouse, state_dir=tmp_path) as room:
        assert room.check("advertiser", OVERLAP).allowed  # the query itself is fine
        record = room.start_protected_query("advertiser", OVERLAP, "CSV", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "RESOURCE_ACCESS_DENIED"
    assert "CAN_RECEIVE_RESULTS" in record["error"]["message"]


def test_missing_data_location_is_an_invalid_resource(collaboration, tmp_path):
    with CleanRoom(collaboration, duckdb.connect(), state_dir=tmp_path) as room:
        record = room.start_protected_query("advertiser", OVERLAP, "CSV", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "INVALID_RESOURCE"


def test_runtime_value_errors_do_not_quote_data(room, tmp_path):
    sql = "SELECT CAST(campaign_id AS INT) AS c, COUNT(*) AS n FROM pub_impressions_any GROUP BY 1"
    record = room.start_protected_query("agency", sql, "CSV", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"]["code"] == "MALFORMED_QUERY"
    for value in ("spring", "summer", "autumn"):
        assert value not in record["error"]["message"]
