"""Rule matching with AWS Entity Resolution semantics, on small hand-made inputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from adplan.matching.api import match_files
from adplan.matching.errors import MatchingInputError

from .conftest import PEOPLE_COLUMNS, PEOPLE_MAPPING, assignments, rule_workflow, run_rules, write_csv

ROWS = [
    # id, first, last, email, business_email, phone
    ("1", "ann", "lee", "ann@x.com", None, "111"),
    ("2", "ann", "lee", "ann@x.com", None, "111"),  # same email and phone as 1
    ("3", "ann", "lee", "ann@x.com", None, "999"),  # same email as 1, other phone
    ("4", "bob", "ray", None, None, "222"),
    ("5", "bob", "ray", None, None, "222"),  # same name and phone as 4
    ("6", "cy", "dee", None, None, None),
]


def test_waterfall_attributes_a_pair_to_the_first_rule_that_matches(people_csv):
    file = people_csv(ROWS)
    first = assignments(
        run_rules(rule_workflow([("EmailPhone", ["Email", "Phone"]), ("Email", ["Email"])]), {"people": file})
    )
    assert first["1"][1] == first["2"][1] == "EmailPhone"
    assert first["3"][1] == "Email"  # 3 matches 1 and 2 by email only
    # The same rules in the other order: Email now comes first for every email pair.
    swapped = assignments(
        run_rules(rule_workflow([("Email", ["Email"]), ("EmailPhone", ["Email", "Phone"])]), {"people": file})
    )
    assert swapped["1"][1] == swapped["2"][1] == swapped["3"][1] == "Email"


def test_every_match_key_of_a_rule_must_be_equal(people_csv):
    result = assignments(
        run_rules(rule_workflow([("EmailPhone", ["Email", "Phone"])]), {"people": people_csv(ROWS)})
    )
    assert result["1"][0] == result["2"][0]
    assert result["3"][0] != result["1"][0]  # same email, different phone


def test_missing_values_never_match(people_csv):
    rows = [
        ("1", "ann", "lee", None, None, None),
        ("2", "bob", "ray", None, None, None),
        ("3", "cy", "dee", "", "", ""),  # empty is missing too
    ]
    result = assignments(
        run_rules(rule_workflow([("Email", ["Email"]), ("Phone", ["Phone"])]), {"people": people_csv(rows)})
    )
    assert len({match_id for match_id, _ in result.values()}) == 3
    assert all(rule is None for _, rule in result.values())


def test_many_to_many_compares_across_fields_of_a_key_and_one_to_one_does_not(people_csv):
    rows = [
        ("1", "ann", "lee", "ann@x.com", None, None),
        ("2", "ann", "lee", None, "ann@x.com", None),  # the same address, as a business email
        ("3", "cy", "dee", None, "cy@x.com", None),
        ("4", "cy", "dee", None, "cy@x.com", None),  # business email with business email
    ]
    file = people_csv(rows)
    many = assignments(
        run_rules(rule_workflow([("Email", ["Email"])], model="MANY_TO_MANY"), {"people": file})
    )
    one = assignments(run_rules(rule_workflow([("Email", ["Email"])], model="ONE_TO_ONE"), {"people": file}))
    assert many["1"][0] == many["2"][0]
    assert one["1"][0] != one["2"][0]
    assert one["3"][0] == one["4"][0] and many["3"][0] == many["4"][0]


def test_matches_are_transitive_and_the_record_keeps_its_first_rule(people_csv):
    rows = [
        ("a", "ann", "lee", "ann@x.com", None, None),
        ("b", "ann", "lee", "ann@x.com", None, "555"),  # a-b by email
        ("c", "zed", "zoo", None, None, "555"),  # b-c by phone
        ("d", "dan", "doe", None, None, "777"),
    ]
    result = assignments(
        run_rules(rule_workflow([("Email", ["Email"]), ("Phone", ["Phone"])]), {"people": people_csv(rows)})
    )
    assert result["a"][0] == result["b"][0] == result["c"][0] != result["d"][0]
    assert (result["a"][1], result["b"][1], result["c"][1], result["d"][1]) == (
        "Email",
        "Email",
        "Phone",
        None,
    )


def test_a_long_chain_is_one_match_id(tmp_path: Path):
    # Records pair up by email (0-1, 2-3, ...) and by phone (1-2, 3-4, ...): a path of 2,000 records.
    rows = [(str(i), "x", "y", f"e{i // 2}@x.com", None, f"p{(i + 1) // 2}") for i in range(2000)]
    run = run_rules(
        rule_workflow([("Email", ["Email"]), ("Phone", ["Phone"])]),
        {"people": write_csv(tmp_path / "c.csv", PEOPLE_COLUMNS, rows)},
    )
    assert len({match_id for match_id, _ in assignments(run).values()}) == 1
    assert run.figures["components_rounds"] <= 4


def test_output_has_the_service_columns_and_one_row_per_good_record(tmp_path: Path):
    orders_mapping = {
        "schemaName": "orders",
        "mappedInputFields": [
            {"fieldName": "order_id", "type": "UNIQUE_ID"},
            {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "Email"},
            {"fieldName": "value", "type": "STRING"},
        ],
    }
    people = write_csv(
        tmp_path / "people.csv",
        PEOPLE_COLUMNS,
        [("1", "ann", "lee", "ann@x.com", None, None), ("", "no", "id", "x@x.com", None, None)],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ["order_id", "email", "value"],
        [
            ("o1", "ann@x.com", "10"),
            ("o2", "zed@x.com", "5"),
            ("o2", "zed@x.com", "5"),
            ("o" * 39, "y@x.com", "1"),
        ],
    )
    document = rule_workflow(
        [("Email", ["Email"])],
        inputs=[("people", "people"), ("orders", "orders")],
        output=[{"name": "email", "hashed": True}, {"name": "value"}],
    )
    run = run_rules(document, {"people": people, "orders": orders}, [PEOPLE_MAPPING, orders_mapping])
    relation = run.con.sql(run.output_sql())
    assert relation.columns == [
        "InputSourceARN",
        "record_id",
        "id",
        "order_id",
        "email",
        "value",
        "MatchID",
        "MatchRule",
    ]
    rows = {row[1]: row for row in relation.fetchall()}
    assert set(rows) == {"1", "o1", "o2"}  # no id, a repeated id kept once, an id over 38 characters
    assert rows["1"][0] == "people" and rows["1"][2] == "1" and rows["1"][3] is None
    assert rows["o1"][2] is None and rows["o1"][3] == "o1" and rows["o1"][5] == "10"
    assert len(rows["1"][4]) == 64  # hashed on output
    assert rows["1"][6] == rows["o1"][6] and rows["o1"][7] == "Email"
    assert run.prepared.error_counts == {
        "people": {"missing_id": 1, "repeated_id": 0, "id_too_long": 0},
        "orders": {"missing_id": 0, "repeated_id": 1, "id_too_long": 1},
    }


def test_normalization_applies_only_when_the_input_asks(people_csv):
    rows = [("1", "Ann", "Lee", " Ann@X.com ", None, None), ("2", "ann", "lee", "ann@x.com", None, None)]
    file = people_csv(rows)
    raw = assignments(run_rules(rule_workflow([("Email", ["Email"])], normalize=False), {"people": file}))
    normalized = assignments(
        run_rules(rule_workflow([("Email", ["Email"])], normalize=True), {"people": file})
    )
    assert raw["1"][0] != raw["2"][0]
    assert normalized["1"][0] == normalized["2"][0]


def test_match_id_is_stable_across_runs_and_input_order(people_csv):
    first = assignments(
        run_rules(rule_workflow([("Email", ["Email"])]), {"people": people_csv(ROWS, "a.csv")})
    )
    second = assignments(
        run_rules(
            rule_workflow([("Email", ["Email"])]), {"people": people_csv(list(reversed(ROWS)), "b.csv")}
        )
    )
    assert first == second


def test_match_files_writes_csv_and_reports_bad_inputs(tmp_path: Path, people_csv):
    import json

    mapping = tmp_path / "people.json"
    mapping.write_text(json.dumps(PEOPLE_MAPPING))
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps(rule_workflow([("Email", ["Email"])])))
    out = tmp_path / "out" / "matches.csv"
    summary = match_files([mapping], workflow, {"people": people_csv(ROWS)}, out)
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ROWS)
    assert set(rows[0]) == {"InputSourceARN", "record_id", "id", "MatchID", "MatchRule"}
    assert summary["quality"]["records"] == len(ROWS)

    with pytest.raises(MatchingInputError, match="not an input of workflow"):
        match_files(mapping, workflow, {"customers": people_csv(ROWS)}, out)
    with pytest.raises(MatchingInputError, match="file not found"):
        match_files(mapping, workflow, {"people": tmp_path / "missing.csv"}, out)
    no_phone = write_csv(tmp_path / "no_phone.csv", PEOPLE_COLUMNS[:-1], [row[:-1] for row in ROWS])
    with pytest.raises(MatchingInputError, match="has no column 'phone'"):
        match_files(mapping, workflow, {"people": no_phone}, out)
