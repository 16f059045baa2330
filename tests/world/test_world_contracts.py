"""The contracts accept every good row and reject every deliberately malformed one, of every kind."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from world_contract_check import CONTRACTS_DIR, check_file, load

from adplan.world.schema import MALFORMED_KINDS, ROLES, SOURCES

FORMAT_KEYS = {"source", "description", "owner", "file", "max_rejected_share", "primary_key", "columns"}
COLUMN_KEYS = {
    "name",
    "type",
    "required",
    "pattern",
    "pii",
    "identity",
    "min",
    "max",
    "allowed",
    "max_length",
    "description",
}
TYPES = {"string", "integer", "decimal", "date", "timestamp", "boolean"}


def test_one_contract_per_source():
    assert sorted(path.stem for path in CONTRACTS_DIR.glob("*.yaml")) == sorted(SOURCES)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_contract_is_in_the_agreed_format(source):
    contract = yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))
    assert set(contract) <= FORMAT_KEYS
    assert contract["source"] == source
    assert contract["file"] == {
        "format": "csv",
        "compression": "gzip",
        "delimiter": ",",
        "header": True,
        "encoding": "utf-8",
    }
    assert 0 < contract["max_rejected_share"] <= 0.1
    assert [column["name"] for column in contract["columns"]] == list(SOURCES[source])
    for column in contract["columns"]:
        assert set(column) <= COLUMN_KEYS, column["name"]
        assert column["type"] in TYPES
        assert isinstance(column["pii"], bool)
        for word in column.get("allowed", []):
            assert isinstance(word, str), f"{source}.{column['name']}: quote {word!r}"
    assert set(contract["primary_key"]) <= set(SOURCES[source])
    required = {column["name"] for column in contract["columns"] if column.get("required")}
    assert ROLES[source].id_column in required


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_contract_rejects_exactly_the_malformed_rows(world, source):
    contract = load(source)
    truth = world.table("malformed_rows").to_pylist()
    expected = {row["line_number"]: row["kind"] for row in truth if row["source"] == source}
    checked = check_file(world.summary.files[source][0], contract)
    assert checked.header == list(SOURCES[source])
    assert checked.lines == world.summary.rows[source]
    wrongly_rejected = sorted(set(checked.rejected) - set(expected))
    wrongly_accepted = sorted((line, kind) for line, kind in expected.items() if line not in checked.rejected)
    assert not wrongly_rejected, (
        f"good rows rejected: {[(line, checked.rejected[line]) for line in wrongly_rejected[:5]]}"
    )
    assert not wrongly_accepted, f"malformed rows accepted: {wrongly_accepted[:5]}"
    # Rows spoilt in the CSV itself fail to parse; the others fail a column rule.
    for line, kind in expected.items():
        parse_failure = checked.rejected[line].startswith("parse")
        assert parse_failure == (kind in ("wrong_column_count", "invalid_utf8")), (
            line,
            kind,
            checked.rejected[line],
        )


def test_malformed_share_is_small_but_every_kind_is_there(world):
    rows = world.table("malformed_rows").to_pylist()
    kinds_by_source: dict[str, Counter] = {}
    for row in rows:
        kinds_by_source.setdefault(row["source"], Counter())[row["kind"]] += 1
    for source in SOURCES:
        malformed = world.summary.malformed[source]
        total = world.summary.rows[source]
        assert malformed > 0, source
        assert set(kinds_by_source[source]) == set(ROLES[source].kinds()), source
        if total > 1000:  # large sources: ~0.5%
            assert 0.003 <= malformed / total <= 0.01, (source, malformed, total)
        else:  # small reference files: one row of each kind
            assert malformed == len(ROLES[source].kinds())
    assert {kind for counter in kinds_by_source.values() for kind in counter} == set(MALFORMED_KINDS)


def test_malformed_rows_copy_real_records(world):
    record_ids = {(row["source"], row["record_id"]) for row in world.table("record_person").to_pylist()}
    for row in world.table("malformed_rows").to_pylist():
        if row["source"] in ("crm_customers", "orders", "publisher_audience", "identity_events"):
            assert (row["source"], row["record_id"]) in record_ids
            assert row["person_id"] is not None
