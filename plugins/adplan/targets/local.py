"""The local target: every step runs in the Airflow worker on the embedded engines (DuckDB, Splink)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, task

from adplan.settings import Settings


class LocalBuilders:
    target = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def query(
        self,
        task_id: str,
        sql: str,
        *,
        output_table: str | None = None,
        zone: str = "analytics",
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ):
        @task(task_id=task_id, outlets=list(outlets), params=params or {})
        def run_query(**context) -> dict[str, Any]:
            from adplan.runner import run_sql_file

            return run_sql_file(sql, context["ds"], dict(context["params"]), output_table, zone)

        return run_query()

    def job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
        trigger_rule: str = "all_success",
    ):
        return _job_task(task_id, job, params, outlets, trigger_rule)

    def catalog_refresh(
        self,
        task_id: str,
        zone: str,
        *,
        outlets: Sequence[Asset] = (),
    ):
        return _job_task(task_id, "warehouse.refresh_catalog", {"zone": zone}, outlets)

    def matching_job(
        self,
        task_id: str,
        workflow: str,
        *,
        outlets: Sequence[Asset] = (),
    ):
        # Generated worlds carry ground truth; the job then reports precision, recall and F1 too.
        truth = self.settings.home / "ground_truth" / "record_person.parquet"
        return _job_task(
            task_id, "identity.resolve", {"workflow": workflow, "ground_truth": str(truth)}, outlets
        )

    def state_machine_run(
        self,
        task_id: str,
        state_machine: str,
        *,
        local_job: str,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ):
        return _job_task(task_id, local_job, params, outlets)

    def model_call(
        self,
        task_id: str,
        *,
        local_job: str,
        body: dict[str, Any],
        model_id: str | None = None,
        outlets: Sequence[Asset] = (),
    ):
        params = {"body": body, "model_id": model_id or self.settings.bedrock_model_id}
        return _job_task(task_id, local_job, params, outlets)

    def dashboard_refresh(
        self,
        task_id: str,
        dataset_ids: Sequence[str],
        *,
        local_job: str,
        outlets: Sequence[Asset] = (),
    ):
        return _job_task(task_id, local_job, {"dataset_ids": list(dataset_ids)}, outlets)


def _job_task(
    task_id: str,
    job: str,
    params: dict[str, Any] | None,
    outlets: Sequence[Asset],
    trigger_rule: str = "all_success",
):
    # Job arguments are rendered by Airflow (op_kwargs are templated), so a DAG can pass
    # "{{ params.sources }}" and the job receives the value chosen in the UI.
    @task(task_id=task_id, outlets=list(outlets), trigger_rule=trigger_rule)
    def run_job(job_params: dict[str, Any], **context) -> dict[str, Any]:
        from airflow.exceptions import AirflowSkipException

        from adplan.jobs import run

        result = run(job, context["ds"], job_params)
        if isinstance(result, dict) and result.get("skipped"):
            raise AirflowSkipException(f"{job}: not selected for this run")
        return result

    return run_job(job_params=params or {})
