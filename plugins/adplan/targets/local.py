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
            from adplan.run_date import run_date
            from adplan.runner import run_sql_file

            return run_sql_file(sql, run_date(context), dict(context["params"]), output_table, zone)

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

    def worker_job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ):
        return _job_task(task_id, job, params, outlets)

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

    def model_round(
        self,
        task_id: str,
        state_machine: str,
        *,
        plan: Any,
        local_job: str,
    ):
        @task(task_id=task_id)
        def answer_round(round_plan: dict[str, Any] | None, **context) -> dict[str, Any]:
            from airflow.exceptions import AirflowSkipException

            from adplan.jobs import run
            from adplan.run_date import run_date

            if not round_plan or not round_plan.get("items"):
                raise AirflowSkipException("nothing left to answer")
            return run(local_job, run_date(context), dict(round_plan))

        return answer_round(plan)

    def dashboard_refresh(
        self,
        task_id: str,
        dataset_ids: Sequence[str],
        *,
        local_job: str,
        outlets: Sequence[Asset] = (),
    ):
        return _job_task(task_id, local_job, {"dataset_ids": list(dataset_ids)}, outlets)

    def protected_query(
        self,
        task_id: str,
        analysis: str,
        *,
        member: str | None = None,
        params: dict[str, Any] | None = None,
        result_format: str = "PARQUET",
        outlets: Sequence[Asset] = (),
    ):
        from adplan.cleanroom.analyses import ANALYSES

        spec = ANALYSES[analysis]

        # Template parameters are Jinja strings that Airflow renders (op_kwargs), as on aws.
        @task(task_id=task_id, outlets=list(outlets), params=params or {})
        def run_protected_query(parameters: dict[str, Any], **context) -> dict[str, Any]:
            from adplan.jobs import run

            job_params = {
                "analysis": analysis,
                "member": member,
                "params": dict(context["params"]),
                "parameters": parameters if spec.template else None,
                "result_format": result_format,
            }
            from adplan.run_date import run_date

            summary = run("cleanroom.protected_query", run_date(context), job_params)
            # Where the result is, under the key the aws operator pushes it (CleanRoomsStartProtectedQueryOperator).
            context["ti"].xcom_push(key="result_location", value=summary["location"])
            return summary

        return run_protected_query(parameters=dict(spec.parameters))

    def quality_checks(
        self,
        task_id: str,
        zone: str,
        table: str,
        *,
        column_checks: dict[str, dict[str, Any]] | None = None,
        table_checks: dict[str, dict[str, str]] | None = None,
        outlets: Sequence[Asset] = (),
    ):
        partition = self.settings.lake_dir / zone / table / "dt={{ run_ds() }}" / "data.parquet"
        # An in-memory DuckDB (the ``duckdb_default`` connection, see adplan.airflow_env) reads the
        # partition file itself: no catalog file, so no lock shared with other tasks.
        source = f"read_parquet('{partition}')"
        return _check_group(task_id, "duckdb_default", source, None, column_checks, table_checks, outlets)


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
        from adplan.run_date import run_date

        result = run(job, run_date(context), job_params)
        if isinstance(result, dict) and result.get("skipped"):
            raise AirflowSkipException(f"{job}: not selected for this run")
        return result

    return run_job(job_params=params or {})


def _check_group(
    task_id: str,
    conn_id: str,
    table: str,
    partition_clause: str | None,
    column_checks: dict[str, dict[str, Any]] | None,
    table_checks: dict[str, dict[str, str]] | None,
    outlets: Sequence[Asset],
    before: Any = None,
):
    """The column and table checks of one table as a task group (shared by both targets); the last
    check publishes ``outlets``. ``before`` makes the group's first task (the aws target updates the
    catalog there)."""
    from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
    from airflow.sdk import TaskGroup

    if not (column_checks or table_checks):
        raise ValueError(f"{task_id}: no column or table checks given")
    with TaskGroup(group_id=task_id) as group:
        checks = []
        if column_checks:
            checks.append(
                SQLColumnCheckOperator(
                    task_id="columns",
                    conn_id=conn_id,
                    table=table,
                    column_mapping=column_checks,
                    partition_clause=partition_clause,
                )
            )
        if table_checks:
            checks.append(
                SQLTableCheckOperator(
                    task_id="table",
                    conn_id=conn_id,
                    table=table,
                    checks=table_checks,
                    partition_clause=partition_clause,
                )
            )
        checks[-1].outlets = list(outlets)
        if len(checks) == 2:
            checks[0] >> checks[1]
        if before is not None:
            before() >> checks[0]
    return group
