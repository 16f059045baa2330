"""What every adplan DAG shares: owner, retries with backoff, SQL search path, no catch-up, and the
run's data date for Asset-triggered runs (``adplan.run_date``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from adplan.alerts import TaskFailureNotifier
from adplan.run_date import run_ds, stamp_outlet_events
from adplan.settings import get_settings

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "adplan-data",
    "retries": get_settings().task_retries,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    # Every Asset event carries the date its task wrote, for the runs it triggers.
    "post_execute": stamp_outlet_events,
    # A task that failed with no retries left is announced on the channels of alerts.yaml.
    "on_failure_callback": TaskFailureNotifier(),
}

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def dag_kwargs(*tags: str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``@dag``: shared defaults plus the DAG's own tags and overrides."""
    kwargs: dict[str, Any] = {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": DEFAULT_ARGS,
        "template_searchpath": [str(get_settings().sql_dir)],
        "user_defined_macros": {"run_ds": run_ds},
        "tags": ["adplan", get_settings().target, *tags],
    }
    kwargs.update(overrides)
    return kwargs
