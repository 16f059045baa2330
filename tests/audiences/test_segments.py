"""Segments on the synthetic world: members, clusters, descriptions and the overlap matrix."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from adplan.audiences import segments
from adplan.audiences.config import SegmentDefinition

CREATIVE_FIELDS = (
    "segment_id", "segment_name", "size", "share_of_customers", "avg_order_value", "avg_ltv",
    "median_recency_days", "top_channels", "top_interests", "lifecycle",
)  # fmt: skip


@pytest.fixture(scope="module")
def built(world):
    # one extra rule nobody matches: empty segments must still get a row and a place in the matrix
    config = dataclasses.replace(
        world.config,
        segments=(*world.config.segments, SegmentDefinition("nobody", "Nobody", "orders < 0")),
    )
    return segments.build_segments(world.con, world.profiles_table, config)


def test_sizes_match_members(world, built):
    counts = dict(
        world.con.execute(f"SELECT segment_id, count(*) FROM {built.members_table} GROUP BY 1").fetchall()
    )
    sizes = dict(zip(built.segments["segment_id"], built.segments["size"], strict=True))
    assert sizes["nobody"] == 0
    assert {key: value for key, value in sizes.items() if value} == counts
    duplicates = world.con.execute(
        f"SELECT count(*) FROM (SELECT segment_id, person_id FROM {built.members_table} GROUP BY 1, 2 HAVING count(*) > 1)"
    ).fetchall()[0][0]
    assert duplicates == 0


def test_overlap_matrix_is_symmetric_with_sizes_on_the_diagonal(built):
    ids = list(built.segments["segment_id"])
    overlap = (
        built.overlap.pivot(index="segment_a", columns="segment_b", values="overlap").loc[ids, ids].to_numpy()
    )
    sizes = built.segments["size"].to_numpy()
    assert overlap.shape == (len(ids), len(ids))
    assert (overlap == overlap.T).all()
    assert (np.diag(overlap) == sizes).all()
    assert (overlap <= np.minimum.outer(sizes, sizes)).all()
    jaccard = (
        built.overlap.pivot(index="segment_a", columns="segment_b", values="jaccard").loc[ids, ids].to_numpy()
    )
    assert np.allclose(np.nan_to_num(jaccard), np.nan_to_num(jaccard.T))


def test_clusters_partition_the_customers(world, built):
    assert built.clusters is not None
    assert built.clusters["k"] >= 2
    cluster_rows = built.segments[built.segments["segment_type"] == "cluster"]
    customers = world.con.execute(f"SELECT count_if(is_customer) FROM {world.profiles_table}").fetchall()[0][
        0
    ]
    assert cluster_rows["size"].sum() == customers
    assert list(cluster_rows["size"]) == sorted(
        cluster_rows["size"], reverse=True
    )  # cluster_1 is the largest
    assert all(name.startswith(f"Cluster {n + 1}: ") for n, name in enumerate(cluster_rows["segment_name"]))
    clusters = cluster_rows["segment_id"].tolist()
    pairs = built.overlap[
        built.overlap["segment_a"].isin(clusters) & built.overlap["segment_b"].isin(clusters)
    ]
    assert (
        pairs.loc[pairs["segment_a"] != pairs["segment_b"], "overlap"] == 0
    ).all()  # clusters are disjoint


def test_descriptions_carry_the_creative_fields(built):
    frame = built.segments.set_index("segment_id")
    assert set(CREATIVE_FIELDS) <= {*frame.columns, "segment_id"}
    for segment_id, row in frame.iterrows():
        channels, interests, features = (
            json.loads(row[name]) for name in ("top_channels", "top_interests", "top_features")
        )
        assert isinstance(channels, list)
        assert isinstance(interests, list)
        assert isinstance(features, list)
        if row["size"]:
            assert row["lifecycle"] in {"prospect", "new", "active", "loyal", "at_risk", "lapsed"}, segment_id
            assert len(channels) == 3
    assert frame.loc["new_customers", "lifecycle"] == "new"
    assert frame.loc["lapsed_buyers", "lifecycle"] == "lapsed"
    assert frame.loc["lapsed_buyers", "median_recency_days"] > 365
    assert frame.loc["engaged_prospects", "share_of_customers"] == 0
    assert frame.loc["high_value_loyal", "avg_ltv"] > frame.loc["lapsed_buyers", "avg_ltv"]


def test_top_features_explain_the_segment(built):
    frame = built.segments.set_index("segment_id")
    lapsed = {item["feature"]: item["smd"] for item in json.loads(frame.loc["lapsed_buyers", "top_features"])}
    assert lapsed["recency_days"] > 0.5  # far more days since their last order than everyone
    social = json.loads(frame.loc["social_first", "top_features"])
    assert social[0]["feature"] == "affinity_social"
    assert social[0]["smd"] > 1
    assert json.loads(frame.loc["social_first", "top_channels"])[0] == "social"


def test_selected_segments_only(world):
    result = segments.build_segments(
        world.con,
        world.profiles_table,
        world.config,
        segments="lapsed_buyers,new_customers",
        members_table="probe",
    )
    assert list(result.segments["segment_id"]) == ["lapsed_buyers", "new_customers"]
    assert result.clusters is None
    assert len(result.overlap) == 4
