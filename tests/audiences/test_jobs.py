"""The jobs end to end on a small lake: tables land in the catalog and the returned summaries (the XComs)
carry counts, never personal data."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest

from adplan.audiences import jobs, synthetic
from adplan.lake import Lake
from adplan.settings import get_settings
from adplan.warehouse import Warehouse

DS = "2026-11-28"


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("adplan-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    con = duckdb.connect()
    synthetic.build_world(con, 5000, DS, seed=3)
    synthetic.write_world(con, Lake(home / "lake"), DS)
    yield home
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def results(lake_home):
    fake_clean_room_rows = pd.DataFrame(
        {"customer_id": [f"C{i:08d}" for i in range(30)], "segment": ["high_value_loyal"] * 30,
         "interest": ["outdoors"] * 20 + ["cooking"] * 10, "age_band": ["25-34"] * 30, "region": ["west"] * 30}
    )  # fmt: skip
    return {
        "profiles": jobs.build_profiles(DS),
        "segments": jobs.build_segments(DS),
        "lookalikes": jobs.score_lookalikes(DS, seed_segment="high_value_loyal"),
        "enrichment": jobs.enrich_segments(DS, run_query=lambda sql: fake_clean_room_rows),
        "exports": jobs.export_activation(
            DS, segments="high_value_loyal,lapsed_buyers", destinations=["meta_custom_audience"]
        ),
    }


def test_tables_are_in_the_catalog(lake_home, results):
    catalog = duckdb.connect(str(lake_home / "warehouse.duckdb"), read_only=True)
    try:
        counts = {
            table: catalog.execute(f"SELECT count(*) FROM {table} WHERE dt = ?", [DS]).fetchall()[0][0]
            for table in ("profiles", "segments", "segment_members", "segment_overlap", "lookalike_scores",
                          "segment_enrichment", "activation_exports")
        }  # fmt: skip
    finally:
        catalog.close()
    assert counts["profiles"] == results["profiles"]["profiles"]
    assert counts["segments"] == results["segments"]["segments"]
    assert counts["segment_members"] == results["segments"]["memberships"]
    assert counts["segment_overlap"] == counts["segments"] ** 2
    assert counts["lookalike_scores"] == results["lookalikes"]["seeds"]["high_value_loyal"]["candidates"]
    assert counts["activation_exports"] == results["exports"]["exports"] == 2


def test_summaries_are_small_and_free_of_personal_data(results):
    text = json.dumps(results)
    assert len(text) < 20_000
    assert "@" not in text
    assert not re.search(r"P\d{8}|C\d{8}|A\d{9}|[0-9a-f]{64}|\+1555", text)


def test_lookalike_model_and_exports_are_written(lake_home, results):
    seed = results["lookalikes"]["seeds"]["high_value_loyal"]
    # in this world buying behaviour barely shows in publisher attributes, so the AUC is only reported here;
    # test_lookalike checks model quality on a group that does
    assert 0 <= seed["holdout_auc"] <= 1
    assert seed["seeds"] >= 10
    model = (
        lake_home / "lake" / "analytics" / "lookalike_models" / "high_value_loyal" / f"dt={DS}" / "model.json"
    )
    assert "coefficients" in json.loads(model.read_text())
    exports = lake_home / "lake" / "analytics" / "activation" / "meta_custom_audience"
    assert sorted(path.name for path in exports.iterdir()) == ["high_value_loyal", "lapsed_buyers"]
    by_segment = results["exports"]["by_destination"]["meta_custom_audience"]
    assert by_segment["high_value_loyal"] > 0


def test_missing_inputs_fail_clearly(lake_home, results):
    with pytest.raises(jobs.MissingInputError, match="profiles has no partition for dt=2026-11-27"):
        jobs.build_segments("2026-11-27")
    with pytest.raises(ValueError, match="no_such_segment"):
        jobs.export_activation(DS, segments="no_such_segment")
    assert Warehouse.from_settings().lake.root == lake_home / "lake"
