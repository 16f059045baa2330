"""Lookalikes: on the synthetic world, a model trained on half of a hidden group finds the other half."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from adplan import sqlfiles
from adplan.audiences import lookalike

DS = "2026-11-28"


@pytest.fixture(scope="module")
def publisher_features(world):
    query = sqlfiles.render_duckdb(
        "audiences/publisher_features.sql", DS, {"profiles_table": world.profiles_table}
    )
    features = world.con.execute(query).df()
    person_index = features["person_id"].str[1:].astype(int).to_numpy()
    features["true_lookalike"] = world.truth.lookalike_group[person_index]
    return features


@pytest.fixture(scope="module")
def trained(publisher_features):
    """The seed: a random half of the hidden group; everyone else (incl. the other half) is 'rest'."""
    rng = np.random.default_rng(4)
    is_seed = publisher_features["true_lookalike"].to_numpy() & (rng.random(len(publisher_features)) < 0.5)
    return lookalike.train_lookalike(publisher_features, is_seed), is_seed


def test_ranks_true_lookalikes_far_above_chance(publisher_features, trained):
    model, is_seed = trained
    candidates = publisher_features[~is_seed]
    scores = model.score(candidates)
    auc = roc_auc_score(candidates["true_lookalike"], scores)
    print(f"lookalike AUC on held-back group members: {auc:.3f} (holdout AUC vs seed {model.holdout_auc})")
    assert auc > 0.75
    assert model.holdout_auc > 0.75
    assert model.holdout_top_decile_lift > 2
    ranked = lookalike.rank_scores(candidates[["audience_record_id"]], scores)
    top = ranked.head(len(ranked) // 10)["audience_record_id"]
    hit_rate = candidates.set_index("audience_record_id").loc[top, "true_lookalike"].mean()
    assert hit_rate > 3 * candidates["true_lookalike"].mean()  # the top decile is rich in look-alikes
    weights = [item["feature"] for item in model.top_weights(4)]
    assert set(weights) <= {"interest=outdoors", "interest=running", "interest=travel", "interest=fitness",
                            "age_band=25-34", "region=west"}  # fmt: skip


def test_ranked_output_reach_and_precision(publisher_features, trained):
    model, _ = trained
    ids = publisher_features[["audience_record_id", "maid_sha256"]]
    ranked = lookalike.rank_scores(ids, model.score(publisher_features))
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert (ranked["cumulative_reach"] == ranked["rank"]).all()
    assert (np.diff(ranked["score"]) <= 0).all()
    assert (np.diff(ranked["expected_precision_at_cut"]) <= 1e-9).all()  # a running mean of falling scores
    assert ranked["expected_lookalikes"].iloc[-1] == pytest.approx(
        model.score(publisher_features).sum(), rel=1e-6
    )
    assert set(ranked["audience_record_id"]) == set(ids["audience_record_id"])


def test_model_travels_as_json_and_accepts_delivered_text(publisher_features, trained):
    model, _ = trained
    restored = lookalike.LookalikeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    sample = publisher_features.head(500).copy()
    assert np.allclose(restored.score(sample), model.score(sample))
    # the publisher's side may hold interests as delivered (';'-separated text) and values never seen
    as_text = sample.copy()
    as_text["interests"] = sample["interests"].fillna("").str.upper().str.replace(";", " ; ")
    assert np.allclose(restored.score(as_text), model.score(sample))
    unseen = pd.DataFrame(
        {"interests": [["knitting"], None], "age_band": ["99+", None], "region": [None, "mars"],
         "impressions": [0, None], "clicks": [0, None], "days_since_exposure": [None, None]}
    )  # fmt: skip
    assert np.isfinite(restored.score(unseen)).all()


def test_refuses_too_few_seeds_and_missing_columns(publisher_features):
    with pytest.raises(ValueError, match="at least 10 seed"):
        lookalike.train_lookalike(publisher_features, np.zeros(len(publisher_features), dtype=bool))
    with pytest.raises(ValueError, match="missing"):
        lookalike.train_lookalike(
            publisher_features.drop(columns=["region"]), np.arange(len(publisher_features)) % 2 == 0
        )
