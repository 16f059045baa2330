"""Activation exports: hashed identifiers only, consent respected, counts that reconcile, platform limits."""

from __future__ import annotations

import hashlib
import json
import math
import re

import pyarrow as pa
import pytest

from adplan.audiences import activation, segments
from adplan.audiences.config import load_activation_config, parse_activation_config
from adplan.lake import Lake

DS = "2026-11-28"
HEX64 = re.compile(r"[0-9a-f]{64}")
SMALL_LIMITS = {
    "destinations": {
        "tiny_rows": {"columns": [{"header": "EMAIL", "identifier": "email_sha256"}], "limits": {"max_rows_per_file": 100}},
        "tiny_bytes": {
            "columns": [{"header": "Email", "identifier": "email_sha256"}, {"header": "MAID", "identifier": "maid_sha256"}],
            "limits": {"max_file_bytes": 20_000},
            "min_records": 1_000_000,
        },
    }
}  # fmt: skip


@pytest.fixture(scope="module")
def exported(world, tmp_path_factory):
    lake = Lake(tmp_path_factory.mktemp("lake"))
    result = segments.build_segments(
        world.con, world.profiles_table, world.config, members_table="export_members"
    )
    activation.build_identifiers_table(world.con, DS)
    summaries = [
        activation.export_segment(
            world.con, lake, DS, segment_id, destination, members_table="export_members"
        )
        for segment_id in ("high_value_loyal", "lapsed_buyers", "engaged_prospects", "cluster_1")
        for destination in load_activation_config().destinations
    ]
    return lake, result, summaries


def export_dir(lake, summary):
    return lake.root / summary.path


def data_lines(directory):
    for part in sorted(directory.glob("part-*.csv")):
        lines = part.read_text(encoding="utf-8").splitlines()
        yield part, lines[0], lines[1:]


def test_files_hold_only_sha256_hex(world, exported):
    lake, _, summaries = exported
    raw = world.con.execute("SELECT email, phone FROM curated_crm_customers").fetchall()
    raw_values = {value for row in raw for value in row if value} | {
        row[1].lstrip("+") for row in raw if row[1]
    }
    for summary in summaries:
        for part, _header, lines in data_lines(export_dir(lake, summary)):
            text = part.read_text(encoding="utf-8")
            assert "@" not in text, part
            assert "+1555" not in text, part
            assert not re.search(r"(?<![0-9a-f])\+?\d[\d\s().-]{9,}(?![0-9a-f])", "\n".join(lines)), part
            for line in lines:
                fields = line.split(",")
                assert all(HEX64.fullmatch(field) or field == "" for field in fields), (part, line)
                assert any(fields), "a row without any identifier"
                assert not raw_values & set(fields)


def test_headers_and_hashing_follow_the_platform(world, exported):
    lake, _, summaries = exported
    expected_headers = {
        "google_customer_match": "Email,Phone",
        "meta_custom_audience": "EMAIL,PHONE",
        "tiktok_customer_file": "Email_SHA256,Phone_SHA256,MAID_SHA256",
    }
    _person, email, phone = world.con.execute(
        """
        SELECT m.person_id, c.email, c.phone
        FROM export_members m JOIN identity_graph g ON g.source = 'crm_customers' AND g.person_id = m.person_id
        JOIN curated_crm_customers c ON c.customer_id = g.record_id
        JOIN audience_activation_identifiers i ON i.person_id = m.person_id
        WHERE m.segment_id = 'high_value_loyal' AND i.consent_ads
        ORDER BY 1 LIMIT 1
        """
    ).fetchall()[0]
    sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    rows_by_destination = {}
    for summary in (s for s in summaries if s.segment_id == "high_value_loyal"):
        for _, header, lines in data_lines(export_dir(lake, summary)):
            assert header == expected_headers[summary.destination]
            rows_by_destination.setdefault(summary.destination, set()).update(lines)
    assert f"{sha(email)},{sha(phone)}" in rows_by_destination["google_customer_match"]  # E.164 with '+'
    assert (
        f"{sha(email)},{sha(phone.lstrip('+'))}" in rows_by_destination["meta_custom_audience"]
    )  # digits only
    assert any(
        line.startswith(f"{sha(email)},{sha(phone)},") for line in rows_by_destination["tiktok_customer_file"]
    )


def test_counts_reconcile_with_segment_sizes(world, exported):
    lake, result, summaries = exported
    sizes = dict(zip(result.segments["segment_id"], result.segments["size"], strict=True))
    for summary in summaries:
        manifest = json.loads((export_dir(lake, summary) / "manifest.json").read_text())
        counts = manifest["reconciliation"]
        assert counts["segment_size"] == sizes[summary.segment_id]
        assert (
            counts["segment_size"]
            == counts["exported"] + counts["without_ads_consent"] + counts["without_identifiers"]
        )
        rows_in_files = sum(len(lines) for _, _, lines in data_lines(export_dir(lake, summary)))
        assert rows_in_files == manifest["total_rows"] == counts["exported"] == summary.exported
        assert sum(file["rows"] for file in manifest["files"]) == rows_in_files
        # consent as the profiles compute it, independently of the export SQL
        consented = world.con.execute(
            f"SELECT count_if(p.consent_ads) FROM export_members m JOIN {world.profiles_table} p USING (person_id) "
            "WHERE m.segment_id = ?",
            [summary.segment_id],
        ).fetchall()[0][0]
        assert counts["exported"] + counts["without_identifiers"] == consented
        assert manifest["hash_method"].startswith("SHA-256")
        assert manifest["dt"] == DS
        headers = [key["header"] for key in manifest["match_keys"]]
        assert all(list(file["identifiers"]) == headers for file in manifest["files"])
        assert manifest["identifier_counts"] == {
            header: sum(file["identifiers"][header] for file in manifest["files"]) for header in headers
        }
    prospects = [s for s in summaries if s.segment_id == "engaged_prospects"]
    assert all(s.exported <= s.segment_size for s in prospects)


def test_files_are_cut_to_the_platform_limits(world, exported, tmp_path):
    lake = Lake(tmp_path / "lake")
    config = parse_activation_config(SMALL_LIMITS)
    for destination in config.destinations:
        summary = activation.export_segment(
            world.con, lake, DS, "cluster_1", destination, members_table="export_members"
        )
        manifest = json.loads((lake.root / summary.path / "manifest.json").read_text())
        per_file = destination.rows_per_file()
        assert summary.files == math.ceil(summary.exported / per_file) > 1
        for file in manifest["files"]:
            assert file["rows"] <= per_file
            if destination.max_file_bytes:
                assert file["bytes"] <= destination.max_file_bytes
        assert manifest["below_platform_minimum"] is (destination.min_records is not None)


def test_rerun_replaces_the_export_whole(world, exported):
    lake, _, summaries = exported
    summary = summaries[0]
    directory = export_dir(lake, summary)
    before = sorted(path.name for path in directory.iterdir())
    destination = next(d for d in load_activation_config().destinations if d.id == summary.destination)
    activation.export_segment(
        world.con, lake, DS, summary.segment_id, destination, members_table="export_members"
    )
    assert sorted(path.name for path in directory.iterdir()) == before
    assert [path.name for path in directory.parent.iterdir()] == [f"dt={DS}"]  # no temporary leftovers


def test_unhashed_values_are_refused():
    activation.check_hashed(pa.table({"Email": ["a" * 64, None]}))
    with pytest.raises(activation.UnsafeExportError, match="Email"):
        activation.check_hashed(pa.table({"Email": ["a" * 64, "someone@example.com"]}))
    with pytest.raises(activation.UnsafeExportError):
        activation.check_hashed(pa.table({"Phone": ["A" * 64]}))  # uppercase hex is not what platforms expect
