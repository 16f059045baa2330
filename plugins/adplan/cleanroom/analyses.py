"""The collaboration's standard analyses: what each one runs, and which member runs it.

One registry for both targets. An analysis is either a Clean Rooms SQL file under ``sql/`` (Jinja with
``ds`` and ``params``, rendered by ``adplan.sqlfiles`` on the local target and by Airflow through
``{% include %}`` on the aws target) or an analysis template of ``include/config/collaboration.yaml``
(run by name, with ``parameters``). Template parameter values are Jinja strings over ``params``,
``macros.ds_add`` and ``run_ds()`` (the run's data date), rendered by Airflow on both targets (and by
``render_parameters`` when a job is called without Airflow).

This module imports nothing heavy: the aws task builder reads it when a DAG file is parsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

# Parameters every analysis sees (DAG params on Airflow): lookback window, an optional campaign, and
# optional advertiser segments.
DEFAULT_PARAMS: dict[str, Any] = {"lookback_days": 28, "campaign_id": "", "segments": []}

# ``run_ds()`` is the run's data date (adplan.run_date): an Asset-triggered run has no ``ds``.
START_DATE = "{{ macros.ds_add(run_ds(), -(params.lookback_days | int)) }} 00:00:00"


@dataclass(frozen=True)
class Analysis:
    """One standard analysis: a Clean Rooms SQL file, or an analysis template, and who runs it."""

    name: str
    sql: str | None = None  # path under sql/
    template: str | None = None  # analysis template name (runs with parameters instead of SQL)
    member: str | None = None  # None: the member the job is given (the agency)
    params: Mapping[str, Any] = field(default_factory=dict)  # extra Jinja params of the SQL file
    parameters: Mapping[str, str] = field(default_factory=dict)  # template parameters (Jinja strings)

    def __post_init__(self) -> None:
        if (self.sql is None) == (self.template is None):
            raise ValueError(f"analysis {self.name}: give exactly one of sql and template")

    @property
    def result_table(self) -> str:
        return f"cleanroom_results_{self.name}"


ANALYSES: dict[str, Analysis] = {
    "audience_overlap": Analysis("audience_overlap", sql="cleanroom/analyses/audience_overlap.sql"),
    "overlap_by_segment": Analysis("overlap_by_segment", sql="cleanroom/analyses/overlap_by_segment.sql"),
    "reach_frequency": Analysis("reach_frequency", sql="cleanroom/analyses/reach_frequency.sql"),
    # The advertiser's conversions table is under a custom rule: only approved templates read it.
    "conversions": Analysis(
        "conversions", template="conversions_by_campaign", parameters={"start_date": START_DATE}
    ),
    "conversions_by_creative": Analysis(
        "conversions_by_creative",
        template="conversions_by_creative",
        parameters={"start_date": START_DATE, "campaign_id": "{{ params.campaign_id or '' }}"},
    ),
    # List rules need a join to a table the querying member owns: the advertiser runs the enrichment.
    "enrichment": Analysis("enrichment", sql="cleanroom/analyses/enrichment.sql", member="advertiser"),
}


def ds_add(ds: str, days: int) -> str:
    """``airflow.macros.ds_add``, for rendering parameters where Airflow is not installed (Glue)."""
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=int(days))).isoformat()


def render_parameters(analysis: Analysis, ds: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The template parameters as Airflow renders them for ``ds`` and ``params``."""
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    context = {
        "ds": ds,
        "run_ds": lambda: ds,
        "params": {**DEFAULT_PARAMS, **params},
        "macros": SimpleNamespace(ds_add=ds_add),
    }
    return {
        name: environment.from_string(value).render(context) for name, value in analysis.parameters.items()
    }
