"""The run's data date: ``ds`` when there is a logical date, else the date stamped on the Asset events."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG, Asset

from adplan.dag_defaults import dag_kwargs
from adplan.run_date import run_date, stamp_outlet_events

NIGHTLY_EVENT = SimpleNamespace(extra={"ds": "2026-11-28"})
OLDER_EVENT = SimpleNamespace(extra={"ds": "2026-11-27"})
UNSTAMPED_EVENT = SimpleNamespace(extra={})
RUN = SimpleNamespace(run_after=datetime(2026, 11, 29, 3, 15))


def test_a_run_with_a_logical_date_uses_ds():
    assert run_date({"ds": "2026-11-28", "dag_run": RUN}) == "2026-11-28"


def test_an_asset_triggered_run_uses_the_latest_date_its_events_carry():
    events = {
        "s3://lake/curated/identity_graph": [OLDER_EVENT, NIGHTLY_EVENT],
        "s3://lake/x": [UNSTAMPED_EVENT],
    }
    assert run_date({"triggering_asset_events": events, "dag_run": RUN}) == "2026-11-28"


def test_a_manual_run_without_a_date_uses_the_day_it_was_due():
    assert run_date({"triggering_asset_events": {}, "dag_run": RUN}) == "2026-11-29"


def test_every_outlet_event_is_stamped_with_the_date_written():
    graph = Asset("s3://lake/curated/identity_graph/")
    events = {graph: SimpleNamespace(extra={})}
    context = {"task": SimpleNamespace(outlets=[graph]), "outlet_events": events, "ds": "2026-11-28"}
    stamp_outlet_events(context)
    assert events[graph].extra == {"ds": "2026-11-28"}


@pytest.mark.parametrize(
    "context", [{"ds": "2026-11-28"}, {"triggering_asset_events": {"a": [NIGHTLY_EVENT]}}]
)
def test_sql_files_included_by_the_aws_target_render_with_the_run_date(context):
    # The aws builders include SQL files after "{% set ds = run_ds() %}": the files' own {{ ds }}
    # then works in Asset-triggered runs too (Airflow's StrictUndefined would fail without it).
    with DAG("render_test", schedule=None, **dag_kwargs()) as dag:
        pass
    template = dag.get_template_env().from_string(
        "{% set ds = run_ds() %}{% include 'identity/identity_graph.sql' %}"
    )
    rendered = template.render(params={"technique": "rules"}, dag_run=RUN, **context)
    assert "WHERE dt = '2026-11-28'" in rendered
