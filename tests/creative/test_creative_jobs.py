"""The job entry points: generate (segments in, creatives partition and review page out), apply_review."""

from __future__ import annotations

import json

import duckdb
import pytest

from adplan.creative.jobs import apply_review, generate, model_response, review_page_path
from adplan.creative.review import CREATIVE_COLUMNS, read_creatives
from adplan.creative.segments import SegmentsNotFoundError
from adplan.lake import Lake
from adplan.warehouse import Warehouse

DS = "2026-11-28"


@pytest.fixture
def warehouse(tmp_path):
    return Warehouse(Lake(tmp_path / "lake"), tmp_path / "warehouse.duckdb")


def written(warehouse) -> list[dict]:
    with duckdb.connect() as con:
        return read_creatives(con, warehouse.lake.partition_file("creative", "creatives", DS))


def write_segments(lake, dt, rows):
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE s (segment_id VARCHAR, segment_name VARCHAR, size BIGINT, share_of_customers DOUBLE, "
            "avg_order_value DOUBLE, avg_ltv DOUBLE, median_recency_days INTEGER, top_channels VARCHAR[], "
            "top_interests VARCHAR[], lifecycle VARCHAR)"
        )
        con.executemany(
            "INSERT INTO s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [list(row.values())[:10] for row in rows]
        )
        lake.write_partition("analytics", "segments", dt, "SELECT * FROM s", con)


def test_generate_writes_creatives_and_the_review_page(config, warehouse, segment_rows):
    summary = generate(DS, segment_reader=lambda ds: segment_rows, warehouse=warehouse, config=config)

    assert summary["campaign_id"] == config.brief.campaign_id
    assert (summary["segments"], summary["variants"]) == (4, 4 * 4 * 3)
    assert summary["passed"] + summary["rejected"] == summary["variants"]
    assert summary["model_calls"] >= summary["variants"]
    rows = written(warehouse)
    assert tuple(rows[0]) == CREATIVE_COLUMNS
    assert len(rows) == summary["variants"]
    assert {row["status"] for row in rows} <= {"PENDING_REVIEW", "REJECTED"}
    page = review_page_path(warehouse.lake, DS)
    assert page == warehouse.lake.root / "creative" / "review" / f"dt={DS}" / "review.html"
    assert "Loyal trail runners (seg_loyal)" in page.read_text()
    # The summary (a task's XCom) holds counts and paths only: no copy, no segment facts.
    flat = json.dumps(summary)
    assert "Ridge Jacket" not in flat
    assert "trail running" not in flat
    # The catalog sees the new table.
    assert warehouse.connect().sql("SELECT count(*) FROM creatives").fetchall() == [(48,)]


def test_generate_narrows_segments_channels_and_variants(config, warehouse, segment_rows):
    summary = generate(
        DS, campaign_id="retarget", segments="seg_vip, seg_new", channels="email", variants="2",
        segment_reader=segment_rows, warehouse=warehouse, config=config, unused_param="ignored",
    )  # fmt: skip
    assert (summary["segments"], summary["channels"], summary["variants"]) == (2, ["email"], 4)
    assert written(warehouse)[0]["creative_key"] == "retarget/seg_new/email/v1"


def test_a_rerun_replaces_the_partition(config, warehouse, segment_rows):
    generate(DS, segment_reader=lambda ds: segment_rows, warehouse=warehouse, config=config)
    generate(
        DS,
        channels="search",
        variants=1,
        segment_reader=lambda ds: segment_rows,
        warehouse=warehouse,
        config=config,
    )
    assert len(written(warehouse)) == 4


def test_unknown_channel_or_segment_fails_before_any_work(config, warehouse, segment_rows):
    with pytest.raises(ValueError, match="unknown channel 'tiktok'"):
        generate(
            DS,
            channels="search,tiktok",
            segment_reader=lambda ds: segment_rows,
            warehouse=warehouse,
            config=config,
        )
    with pytest.raises(SegmentsNotFoundError, match="seg_nope"):
        generate(
            DS,
            segments="seg_nope",
            segment_reader=lambda ds: segment_rows,
            warehouse=warehouse,
            config=config,
        )
    assert not warehouse.lake.partition_file("creative", "creatives", DS).exists()


def test_without_a_segments_table_the_job_says_what_to_run(config, warehouse):
    with pytest.raises(SegmentsNotFoundError, match=r"table 'segments' does not exist.*audience_analysis"):
        generate(DS, warehouse=warehouse, config=config)
    with pytest.raises(SegmentsNotFoundError, match="nothing to write creatives for"):
        generate(DS, segment_reader=[], warehouse=warehouse, config=config)


def test_segments_are_read_from_the_latest_partition_up_to_ds(config, warehouse, segment_rows):
    lake = warehouse.lake
    old = [dict(row, segment_name=f"old {row['segment_name']}") for row in segment_rows[:2]]
    future = [dict(segment_rows[0], segment_id="seg_future")]
    write_segments(lake, "2026-11-01", old)
    write_segments(lake, "2026-11-27", segment_rows)
    write_segments(lake, "2026-12-01", future)
    summary = generate(DS, channels="display", variants=1, warehouse=warehouse, config=config)
    assert summary["segments"] == 4
    page = review_page_path(lake, DS).read_text()
    assert "old " not in page
    assert "seg_future" not in page
    with pytest.raises(SegmentsNotFoundError, match="no partition on or before 2026-10-01"):
        generate("2026-10-01", warehouse=warehouse, config=config)


def test_apply_review_updates_statuses(config, warehouse, segment_rows, tmp_path):
    generate(
        DS,
        channels="search",
        variants=1,
        segment_reader=lambda ds: segment_rows,
        warehouse=warehouse,
        config=config,
    )
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "creative_key,decision\n"
        f"{config.brief.campaign_id}/seg_new/search/v1,APPROVED\n"
        f"{config.brief.campaign_id}/seg_vip/search/v1,REJECTED\n"
    )
    assert apply_review(DS, str(decisions), warehouse=warehouse) == {
        "dt": DS, "approved": 1, "rejected": 1, "refused": 0, "unknown_keys": 0,
    }  # fmt: skip
    rows = written(warehouse)
    status = {row["segment_id"]: row["status"] for row in rows}
    assert status == {"seg_new": "APPROVED", "seg_vip": "REJECTED", "seg_loyal": "PENDING_REVIEW",
                      "seg_lapsed": "PENDING_REVIEW"}  # fmt: skip


def test_model_response_is_the_local_model_call(config, segments):
    from adplan.creative.items import item_request, plan_items

    item = plan_items(config, segments[:1], campaign_id="c", channels=["search"], variants=1)[0]
    body = model_response(DS, item_request(config, item), model_id="anthropic.claude-3-haiku-20240307-v1:0")
    assert body["model"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert set(json.loads(body["content"][0]["text"])) == {"headline", "description"}
