"""The date of the data a DAG run works on, on schedules with and without a logical date.

A run of the nightly DAG has a logical date, and Airflow puts ``ds`` in its context. A run that an
Asset event triggered has none (Airflow 3 creates it with ``logical_date=None``), so ``{{ ds }}``
fails there (templates use ``StrictUndefined``). The downstream DAGs must still work on the partition
the upstream run wrote, not on "today": every task that publishes an Asset stamps the event with the
date it wrote (``stamp_outlet_events``, run after every task by ``dag_defaults``), and a triggered
run takes the latest stamped date of the events that triggered it.

Templates call ``{{ run_ds() }}``; Python tasks call ``run_date(context)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

EXTRA_KEY = "ds"


def run_date(context: Mapping[str, Any]) -> str:
    """``ds`` when the run has a logical date; else the latest date stamped on the triggering Asset
    events; else the day the run was due (``run_after``, a manual run without a date)."""
    ds = context.get("ds")
    if ds:
        return str(ds)
    events = context.get("triggering_asset_events") or {}
    stamped = [
        str(event.extra[EXTRA_KEY])
        for asset_events in events.values()
        for event in asset_events
        if (getattr(event, "extra", None) or {}).get(EXTRA_KEY)
    ]
    if stamped:
        return max(stamped)
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is None:
        raise ValueError("the run has no logical date, no dated Asset events and no run_after")
    return run_after.date().isoformat()


@jinja2.pass_context
def run_ds(context: jinja2.runtime.Context) -> str:
    """Template macro: ``{{ run_ds() }}`` is ``run_date`` of the task's context."""
    return run_date(context)


def stamp_outlet_events(context: Mapping[str, Any], result: Any = None) -> None:
    """Post-execute hook: stamp every Asset event the task emits with the date it wrote."""
    task = context.get("task")
    outlets = getattr(task, "outlets", None) or []
    if not outlets:
        return
    ds = run_date(context)
    for outlet in outlets:
        context["outlet_events"][outlet].extra[EXTRA_KEY] = ds
