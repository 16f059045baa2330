"""The creatives rows, the review page (escaped, self-contained) and applying reviewers' decisions."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import duckdb
import pytest

from adplan.creative.guardrails import Verdict
from adplan.creative.items import CreativeItem
from adplan.creative.pipeline import APPROVED, PENDING_REVIEW, REJECTED, CreativeResult
from adplan.creative.review import (
    CREATIVE_COLUMNS,
    DecisionsError,
    apply_approvals,
    creative_rows,
    creatives_relation,
    load_decisions,
    read_creatives,
    render_review_page,
)

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def result(
    segment_id: str, channel: str, variant: int, fields: dict, reasons=(), status=PENDING_REVIEW, attempt=1
):
    item = CreativeItem("autumn", segment_id, channel, variant, attempt, ())
    return CreativeResult(item, fields, Verdict(tuple(reasons)), status)


@pytest.fixture
def rows():
    return creative_rows(
        [
            result("seg_a", "search", 1, {"headline": "Made for hiking", "description": "Ready."}),
            result("seg_a", "search", 2, {"headline": HOSTILE, "description": "Ready."}),
            result(
                "seg_b", "display", 1, {"headline": "x" * 30, "description": "Ready."},
                reasons=["length: headline has 30 characters; the display limit is 25"], status=REJECTED, attempt=3,
            ),
        ]
    )  # fmt: skip


def test_rows_have_the_creatives_columns(rows, tmp_path):
    assert tuple(rows[0]) == CREATIVE_COLUMNS
    assert CREATIVE_COLUMNS == (
        "creative_key", "campaign_id", "segment_id", "channel", "variant", "fields", "verdict", "reasons",
        "attempts", "status",
    )  # fmt: skip
    rejected = rows[2]
    assert rejected["creative_key"] == "autumn/seg_b/display/v1"
    assert json.loads(rejected["fields"])["description"] == "Ready."
    assert json.loads(rejected["reasons"]) == ["length: headline has 30 characters; the display limit is 25"]
    assert (rejected["verdict"], rejected["attempts"], rejected["status"]) == ("FAIL", 3, REJECTED)
    con = duckdb.connect()
    relation = creatives_relation(con, rows)
    assert relation.columns == list(CREATIVE_COLUMNS)
    assert relation.types[CREATIVE_COLUMNS.index("variant")] == "INTEGER"
    assert relation.count("*").fetchall() == [(3,)]
    relation.write_parquet(str(tmp_path / "creatives.parquet"))
    assert read_creatives(con, tmp_path / "creatives.parquet") == sorted(
        rows, key=lambda row: row["creative_key"]
    )


def test_the_review_page_escapes_everything_and_loads_nothing(config, rows):
    page = render_review_page(
        rows,
        campaign_id="autumn <b>",
        ds="2026-11-28",
        config=config,
        segment_names={"seg_a": "Hikers & <Co>"},
    )
    assert "<script>" not in page
    assert "<img" not in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    )
    assert "Hikers &amp; &lt;Co&gt; (seg_a) · search" in page
    assert "autumn &lt;b&gt;" in page
    tags, attributes = parsed(page)
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span", "code", "section",
                    "article", "header", "strong", "table", "tr", "th", "td", "ul", "li"}  # fmt: skip
    assert not {name for name in attributes if name in {"src", "href"} or name.startswith("on")}
    assert "default-src 'none'" in page  # the page may load nothing, even if escaping were missed


def parsed(page: str) -> tuple[set[str], set[str]]:
    """The tags and attribute names a browser would see on the page."""
    tags: set[str] = set()
    attributes: set[str] = set()

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.add(tag)
            attributes.update(name for name, _ in attrs)

    Collector().feed(page)
    return tags, attributes


def test_the_review_page_groups_variants_and_shows_verdicts(config, rows):
    page = render_review_page(rows, campaign_id="autumn", ds="2026-11-28", config=config)
    assert page.index("seg_a (seg_a) · search") < page.index("seg_b (seg_b) · display")
    assert page.count('class="variant"') == 3
    assert "PENDING_REVIEW: 2" in page
    assert "REJECTED: 1" in page
    assert '<td class="chars over">30/25</td>' in page  # the over-limit field is marked
    assert "length: headline has 30 characters" in page
    assert "autumn/seg_a/search/v2" in page  # the key approvers use


def test_decisions_from_csv_and_json(tmp_path):
    csv_file = tmp_path / "decisions.csv"
    csv_file.write_text(
        "creative_key,decision,note\nautumn/seg_a/search/v1,approve,ok\nautumn/seg_a/search/v2,Rejected,\n"
    )
    assert load_decisions(csv_file) == {
        "autumn/seg_a/search/v1": APPROVED,
        "autumn/seg_a/search/v2": REJECTED,
    }
    listing = tmp_path / "decisions.json"
    listing.write_text(
        json.dumps([{"creative_key": "k1", "decision": "APPROVED"}, {"key": "k2", "decision": "reject"}])
    )
    assert load_decisions(listing) == {"k1": APPROVED, "k2": REJECTED}
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"k1": "approved"}))
    assert load_decisions(mapping) == {"k1": APPROVED}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"k1": "maybe"}))
    with pytest.raises(DecisionsError, match="unknown decision"):
        load_decisions(bad)


def test_applying_decisions(rows):
    report = apply_approvals(
        rows,
        {
            "autumn/seg_a/search/v1": APPROVED,
            "autumn/seg_a/search/v2": REJECTED,
            "autumn/seg_b/display/v1": APPROVED,  # failed its guardrails: refused
            "autumn/seg_z/email/v1": APPROVED,  # no such creative
        },
    )
    assert [row["status"] for row in report.rows] == [APPROVED, REJECTED, REJECTED]
    assert report.summary() == {"approved": 1, "rejected": 1, "refused": 1, "unknown_keys": 1}
    assert report.refused == ["autumn/seg_b/display/v1: failed its guardrails; it cannot be approved"]
    assert report.unknown == ["autumn/seg_z/email/v1"]
    assert rows[0]["status"] == PENDING_REVIEW  # the input rows are not changed in place
