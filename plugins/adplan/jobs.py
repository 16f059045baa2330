"""In-worker jobs: the package functions that a task runs, by name.

A job is a plain function ``fn(ds: str, **params) -> dict`` whose return value is a small summary
(counts, paths, ids; never personal data), because it becomes the task's XCom. On the local target a
task calls it in the Airflow worker; on the aws target the same function runs in a Glue Python job
(``include/glue/adplan_job.py``), so both targets share one implementation.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

# job name -> "module:function". Modules are imported only when the job runs, never at DAG parse time.
JOBS: dict[str, str] = {
    "hygiene.ingest": "adplan.hygiene.jobs:ingest",
    "hygiene.curate": "adplan.hygiene.jobs:curate",
    "hygiene.reconcile": "adplan.hygiene.jobs:reconcile",
    "warehouse.refresh_catalog": "adplan.warehouse:refresh_catalog_job",
    "identity.resolve": "adplan.matching.api:resolve_identities",
    "audiences.build_profiles": "adplan.audiences.jobs:build_profiles",
    "audiences.build_segments": "adplan.audiences.jobs:build_segments",
    "audiences.score_lookalikes": "adplan.audiences.jobs:score_lookalikes",
    "audiences.enrich_segments": "adplan.audiences.jobs:enrich_segments",
    "audiences.export_activation": "adplan.audiences.jobs:export_activation",
    "attribution.attribute": "adplan.attribution.jobs:attribute",
    "attribution.plan_budget": "adplan.attribution.jobs:plan_budget",
    "cleanroom.prepare_tables": "adplan.cleanroom.jobs:prepare_tables",
    "cleanroom.run_analyses": "adplan.cleanroom.jobs:run_analyses",
    "cleanroom.protected_query": "adplan.cleanroom.jobs:run_protected_query",
    "insights.build_marts": "adplan.insights.jobs:build_marts",
    "insights.pacing_alerts": "adplan.insights.jobs:pacing_alerts",
    "insights.export_report": "adplan.insights.jobs:export_report",
    "creative.generate": "adplan.creative.jobs:generate",
    "creative.model_response": "adplan.creative.jobs:model_response",
    "creative.answer_round": "adplan.creative.rounds:answer_round",
}


def resolve(name: str):
    try:
        target = JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}") from None
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def run(name: str, ds: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    function = resolve(name)
    params = dict(params or {})
    if params.get("lake") and "lake" not in inspect.signature(function).parameters:
        # A job that would swallow ``lake`` in **kwargs would run on the local lake of a Glue worker.
        raise ValueError(
            f"job {name} runs on the local lake only; it cannot run on the lake {params['lake']!r}"
        )
    return function(ds, **params)
