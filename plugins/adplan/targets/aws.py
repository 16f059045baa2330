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
        return {"aws_conn_id": self.settings.aws_conn_id, "region_name": self.settings.region}

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
        if output_table is None:
            return AthenaOperator(task_id=task_id, query=sql, outlets=list(outlets), **athena)
        prefix = f"{zone}/{output_table}/dt={{{{ ds }}}}/"
        # UNLOAD refuses a non-empty target: clear the partition first, so a rerun replaces it.
        # Tables use partition projection on dt (include/infra), so no partition needs registering.
        unload = (
            f"UNLOAD (\n{{% include '{sql}' %}}\n) TO 's3://{self.settings.bucket}/{prefix}' "
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
                "--ds": "{{ ds }}",
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
                state_machine_input={"ds": "{{ ds }}", "params": params or {}},
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
