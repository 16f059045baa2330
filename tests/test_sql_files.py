"""Every SQL file renders, parses as Athena (Trino) SQL, transpiles to DuckDB and runs on sample data.

The local pipeline's jobs run once on a small generated world, with ``adplan.sqlfiles.render``
recorded: each SQL file must have been rendered and executed by them, and each rendering must parse
as Trino on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from adplan import jobs, sqlfiles
from adplan.catalog import LANDING_SOURCES
from adplan.runner import run_sql_file
from adplan.settings import get_settings

DS = "2026-11-28"
# Files in the collaboration's own dialect (AWS Clean Rooms SQL): they run through the clean-room
# engine, which parses and checks them itself, never through the Trino -> DuckDB path.
CLEAN_ROOMS_DIALECT = ("audiences/cleanroom_enrichment.sql", "cleanroom/analyses/")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, resolved_world):
    home = tmp_path_factory.mktemp("sql-world")
    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    seen: dict[str, str] = {}
    original = sqlfiles.render

    def recording_render(name, ds, params=None, sql_dir=sqlfiles.SQL_DIR):
        text = original(name, ds, params, sql_dir)
        seen[name] = text
        return text

    patch.setattr(sqlfiles, "render", recording_render)
    try:
        resolved_world(
            home,
            DS,
            people=1500,
            days=21,
            seed=11,
            sources=LANDING_SOURCES,
            resolve={"workflow": "workflows/identity_rules.json"},
        )
        run_sql_file("identity/identity_graph.sql", DS, {"technique": "rules"}, "identity_graph", "curated")
        for job in ("build_profiles", "build_segments", "score_lookalikes", "export_activation"):
            jobs.run(f"audiences.{job}", DS)
        jobs.run("cleanroom.prepare_tables", DS)
        jobs.run("cleanroom.run_analyses", DS)
        jobs.run("audiences.enrich_segments", DS)
        jobs.run("attribution.attribute", DS)
        jobs.run("attribution.plan_budget", DS)
        jobs.run("insights.build_marts", DS)
        yield seen
    finally:
        patch.undo()
        get_settings.cache_clear()


def _trino_files() -> list[str]:
    return [name for name in sqlfiles.sql_files() if not name.startswith(CLEAN_ROOMS_DIALECT)]


def test_every_sql_file_ran_on_the_sample_world(rendered):
    missing = sorted(set(_trino_files()) - set(rendered))
    assert not missing, f"SQL files no job rendered and ran: {missing}"


@pytest.mark.parametrize("name", _trino_files())
def test_sql_file_parses_as_trino_and_transpiles(rendered, name):
    if name not in rendered:
        pytest.fail(f"{name} was not run by the pipeline")
    statements = sqlglot.parse(rendered[name], read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    assert len([s for s in statements if s is not None]) == 1
    assert sqlfiles.to_duckdb(rendered[name])


def test_clean_rooms_files_exist():
    for name in CLEAN_ROOMS_DIALECT:
        assert (Path(sqlfiles.SQL_DIR) / name).exists()
