"""The aws target: every step is an Amazon provider operator (or one of ours in ``adplan.aws``).

Resource names come from ``Settings`` (environment variables), never from DAG files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, TaskGroup

from adplan.settings import Settings

# The one generic Glue job that runs any registered job (include/glue/adplan_job.py).
GLUE_JOB_NAME = "adplan-job"


def matching_workflow_name(workflow: str) -> str:
    """The deployed workflow's name: ``workflows/identity_rules.json`` -> ``adplan-identity-rules``.

    Derived from the file name so that parsing a DAG reads no file; a test checks every workflow
    file's ``workflowName`` follows it.
    """
    return "adplan-" + workflow.rsplit("/", 1)[-1].removesuffix(".json").replace("_", "-")


class AwsBuilders:
    target = "aws"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _aws(self) -> dict[str, Any]:
        """What every AWS operator gets: the connection, the region, and the pool bounding concurrent
        AWS jobs (sensors hold a slot only while poking; deferred tasks hold none)."""
        return {
            "aws_conn_id": self.settings.aws_conn_id,
            "region_name": self.settings.region,
            "pool": self.settings.aws_pool,
        }

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
        from airflow.providers.amazon.aws.operators.athena import AthenaOperator
        from airflow.providers.amazon.aws.operators.s3 import S3DeleteObjectsOperator

        athena = {
            "database": self.settings.glue_database,
            "workgroup": self.settings.athena_workgroup,
            "output_location": self.settings.athena_output_location,
            "params": params or {},
            **self._aws(),
        }
        # An Asset-triggered run has no logical date and no ``ds``: the SQL files see the run's data
        # date instead (adplan.run_date), set before they are included.
        with_ds = "{% set ds = run_ds() %}"
        if output_table is None:
            query = f"{with_ds}{{% include '{sql}' %}}"
            return AthenaOperator(task_id=task_id, query=query, outlets=list(outlets), **athena)
        prefix = f"{zone}/{output_table}/dt={{{{ run_ds() }}}}/"
        # UNLOAD refuses a non-empty target: clear the partition first, so a rerun replaces it.
        # Tables use partition projection on dt (include/infra), so no partition needs registering.
        unload = (
            f"{with_ds}UNLOAD (\n{{% include '{sql}' %}}\n) TO 's3://{self.settings.bucket}/{prefix}' "
            "WITH (format = 'PARQUET', compression = 'ZSTD')"
        )
        with TaskGroup(group_id=task_id) as group:
            clear = S3DeleteObjectsOperator(
                task_id="clear_partition", bucket=self.settings.bucket, prefix=prefix, **self._aws()
            )
            write = AthenaOperator(task_id="unload", query=unload, outlets=list(outlets), **athena)
            clear >> write
        return group

    def job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
        trigger_rule: str = "all_success",
    ):
        from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

        return GlueJobOperator(
            task_id=task_id,
            job_name=GLUE_JOB_NAME,
            script_args={
                "--job": job,
                "--ds": "{{ run_ds() }}",
                "--params": json.dumps(params or {}),
                "--lake": self.settings.s3_lake,
            },
            iam_role_name=self.settings.glue_iam_role,
            wait_for_completion=True,
            deferrable=True,
            outlets=list(outlets),
            trigger_rule=trigger_rule,
            **self._aws(),
        )

    def worker_job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ):
        from adplan.targets.local import _job_task

        return _job_task(task_id, job, {**(params or {}), "lake": self.settings.s3_lake}, outlets)

    def catalog_refresh(
        self,
        task_id: str,
        zone: str,
        *,
        outlets: Sequence[Asset] = (),
    ):
        from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator

        # Tables use partition projection on dt, so the crawler is for schema changes, not partitions.
        return GlueCrawlerRunOperator(
            task_id=task_id,
            crawler_name=f"adplan-{zone}",
            wait_for_completion=True,
            deferrable=True,
            outlets=list(outlets),
            **self._aws(),
        )

    def matching_job(
        self,
        task_id: str,
        workflow: str,
        *,
        outlets: Sequence[Asset] = (),
    ):
        from adplan.aws.operators.entity_resolution import EntityResolutionStartMatchingJobOperator

        return EntityResolutionStartMatchingJobOperator(
            task_id=task_id,
            workflow_name=matching_workflow_name(workflow),
            wait_for_completion=True,
            deferrable=True,
            outlets=list(outlets),
            **self._aws(),
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
        from airflow.providers.amazon.aws.operators.step_function import StepFunctionStartExecutionOperator
        from airflow.providers.amazon.aws.sensors.step_function import StepFunctionExecutionSensor

        with TaskGroup(group_id=task_id) as group:
            start = StepFunctionStartExecutionOperator(
                task_id="start",
                state_machine_arn=self.settings.state_machine_arn or state_machine,
                name=f"{task_id}-{{{{ run_id | replace(':', '-') | replace('+', '-') }}}}"[:80],
                state_machine_input={"ds": "{{ run_ds() }}", "params": params or {}},
                **self._aws(),
            )
            wait = StepFunctionExecutionSensor(
                task_id="wait",
                execution_arn=start.output,
                # This sensor has no deferrable mode; rescheduling frees the worker slot between pokes.
                mode="reschedule",
                poke_interval=60,
                outlets=list(outlets),
                **self._aws(),
            )
            start >> wait
        return group

    def model_call(
        self,
        task_id: str,
        *,
        local_job: str,
        body: dict[str, Any],
        model_id: str | None = None,
        outlets: Sequence[Asset] = (),
    ):
        from airflow.providers.amazon.aws.operators.bedrock import BedrockInvokeModelOperator

        return BedrockInvokeModelOperator(
            task_id=task_id,
            model_id=model_id or self.settings.bedrock_model_id,
            input_data=body,
            outlets=list(outlets),
            **self._aws(),
        )

    def model_round(
        self,
        task_id: str,
        state_machine: str,
        *,
        plan: Any,
        local_job: str,
    ):
        from airflow.providers.amazon.aws.operators.bedrock import BedrockBatchInferenceOperator
        from airflow.providers.amazon.aws.sensors.bedrock import BedrockBatchInferenceSensor
        from airflow.sdk import task

        from adplan.creative.operators import (
            CreativeRoundExecutionSensor,
            CreativeRoundStartExecutionOperator,
        )

        with TaskGroup(group_id=task_id) as group:

            @task.branch(task_id="choose")
            def choose(round_plan: dict[str, Any] | None) -> str:
                from airflow.exceptions import AirflowFailException, AirflowSkipException

                if not round_plan or not round_plan.get("items"):
                    raise AirflowSkipException("nothing left to answer")
                if round_plan["mode"] != "batch":
                    return f"{task_id}.execution_inputs"
                if not round_plan.get("batch_role_arn"):
                    raise AirflowFailException(
                        "mode=batch needs batch.role_arn in include/config/creative.yaml"
                    )
                return f"{task_id}.batch_start"

            @task(task_id="execution_inputs")
            def execution_inputs(round_plan: dict[str, Any]) -> list[str]:
                return list(round_plan["inputs"])

            chosen = choose(plan)
            inputs = execution_inputs(plan)
            # One execution per stored input: inputs are split to fit Step Functions' 256 KiB payload.
            start = CreativeRoundStartExecutionOperator.partial(
                task_id="execution_start",
                state_machine_arn=self.settings.state_machine_arn or state_machine,
                **self._aws(),
            ).expand(input_key=inputs)
            wait = CreativeRoundExecutionSensor.partial(
                task_id="execution_wait", mode="reschedule", poke_interval=30, **self._aws()
            ).expand_kwargs(start.output)
            batch_start = BedrockBatchInferenceOperator(
                task_id="batch_start",
                job_name=plan["batch_job_name"],
                role_arn=plan["batch_role_arn"],
                model_id=plan["model_id"],
                input_uri=plan["batch_input_uri"],
                output_uri=plan["batch_output_uri"],
                wait_for_completion=False,
                **self._aws(),
            )
            batch_wait = BedrockBatchInferenceSensor(
                task_id="batch_wait",
                job_arn=batch_start.output,
                success_state=BedrockBatchInferenceSensor.SuccessState.COMPLETED,
                deferrable=True,
                **self._aws(),
            )
            chosen >> [inputs, batch_start]
            start >> wait
            batch_start >> batch_wait
        return group

    def dashboard_refresh(
        self,
        task_id: str,
        dataset_ids: Sequence[str],
        *,
        local_job: str,
        outlets: Sequence[Asset] = (),
    ):
        from airflow.providers.amazon.aws.operators.quicksight import QuickSightCreateIngestionOperator
        from airflow.providers.amazon.aws.sensors.quicksight import QuickSightSensor

        ingestion_id = "{{ run_id | replace(':', '-') | replace('+', '-') }}"
        with TaskGroup(group_id=task_id) as group:
            for dataset_id in dataset_ids:
                start = QuickSightCreateIngestionOperator(
                    task_id=f"ingest_{dataset_id}",
                    data_set_id=dataset_id,
                    ingestion_id=ingestion_id,
                    wait_for_completion=False,
                    **self._aws(),
                )
                wait = QuickSightSensor(
                    task_id=f"wait_{dataset_id}",
                    data_set_id=dataset_id,
                    ingestion_id=ingestion_id,
                    deferrable=True,
                    outlets=list(outlets),
                    **self._aws(),
                )
                start >> wait
        return group

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
        from adplan.aws.operators.clean_rooms import CleanRoomsStartProtectedQueryOperator
        from adplan.cleanroom.analyses import ANALYSES

        spec = ANALYSES[analysis]
        # The collaboration's engine is CLEAN_ROOMS_SQL (aggregation and list rules exist only there, and
        # the analyses are Clean Rooms SQL), so no Spark computeConfiguration is sent. The membership is
        # this deployment's: the member who runs the analysis must own it.
        if spec.template is not None:
            sql: dict[str, Any] = {
                "analysis_template_name": spec.template,
                "parameters": dict(spec.parameters),
            }
        else:
            # Rendered by Airflow from the same file the local engine renders (template_searchpath),
            # with the run's data date as ``ds`` (adplan.run_date), as ``query`` does.
            sql = {"query_string": f"{{% set ds = run_ds() %}}{{% include '{spec.sql}' %}}"}
        return CleanRoomsStartProtectedQueryOperator(
            task_id=task_id,
            membership_identifier=self.settings.clean_rooms_membership_id,
            result_bucket=self.settings.bucket,
            result_key_prefix=f"cleanrooms/results/dt={{{{ run_ds() }}}}/{spec.name}/",
            result_format=result_format,
            params={**spec.params, **(params or {})},
            wait_for_completion=True,
            deferrable=True,
            outlets=list(outlets),
            **sql,
            **self._aws(),
        )

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
        from adplan.targets.local import _check_group

        # Athena through the provider's AthenaSQLHook (an ``athena`` connection: region, workgroup,
        # s3_staging_dir). The zone's crawler runs first: tables whose schema only the code knows are
        # the crawler's (include/infra), so the night's partition must be in the catalog before the
        # checks can see it.
        return _check_group(
            task_id,
            self.settings.athena_sql_conn_id,
            f'"{self.settings.glue_database}"."{table}"',
            "dt = '{{ run_ds() }}'",
            column_checks,
            table_checks,
            outlets,
            before=lambda: self.catalog_refresh("update_catalog", zone),
        )
