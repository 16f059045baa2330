"""Test session set-up: a private ADPLAN_HOME, the project's Airflow home, no AWS credentials."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports adplan.settings or Airflow.
_HOME = Path(tempfile.mkdtemp(prefix="adplan-test-home-"))
os.environ["ADPLAN_HOME"] = str(_HOME)
os.environ.pop("ADPLAN_TARGET", None)
for _name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from adplan import airflow_env  # noqa: E402

airflow_env.apply()

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Modules marked slow (whole DAG runs) first, the longest (``slow(minutes=...)``) first: with two
    workers, a long module that starts last leaves the other worker idle until it ends. `make test`
    keeps this order (``--no-loadscope-reorder``); the order within a module is kept."""

    def minutes(item) -> float:
        marker = item.get_closest_marker("slow")
        return marker.kwargs.get("minutes", 1) if marker is not None else 0

    items.sort(key=lambda item: -minutes(item))


@pytest.fixture(scope="session")
def adplan_home() -> Path:
    return _HOME


def _resolve_identities(
    home: Path, ds: str, *, people: int, days: int, seed: int, sources, resolve=None
) -> None:
    """Generate a world in ``home`` (the current ADPLAN_HOME) and run it through hygiene and identity
    resolution for ``ds``, as the nightly and identity DAGs do."""
    import datetime as dt

    from adplan import jobs
    from adplan.runner import run_sql_file
    from adplan.world import generate

    generate(home, people=people, days=days, seed=seed, as_of=dt.date.fromisoformat(ds))
    for source in sources:
        jobs.run("hygiene.ingest", ds, {"source": source})
        jobs.run("hygiene.curate", ds, {"source": source})
    for table, column in (("curated_ad_devices", "device_id"), ("curated_ad_cookies", "cookie_id")):
        run_sql_file("identity/ad_identifiers.sql", ds, {"id_column": column}, table, "curated")
    jobs.run("identity.resolve", ds, resolve or {})


@pytest.fixture(scope="session")
def resolved_world():
    """``resolved_world(home, ds, people=..., days=..., seed=..., sources=..., resolve=None)``: a
    generated world through hygiene and identity resolution."""
    return _resolve_identities
