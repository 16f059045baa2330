"""Sensor that waits for an AWS Entity Resolution matching job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from adplan.aws.exceptions import EntityResolutionJobFailedError
from adplan.aws.hooks.entity_resolution import EntityResolutionHook
from adplan.aws.triggers.entity_resolution import EntityResolutionMatchingJobCompleteTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class EntityResolutionMatchingJobSensor(AwsBaseSensor[EntityResolutionHook]):
    """
    Wait for an AWS Entity Resolution matching job to succeed; fail with the service's reason if it fails.

    :param workflow_name: The matching workflow the job belongs to. (templated)
    :param job_id: The id StartMatchingJob returned. (templated)
    :param deferrable: If True, wait in the triggerer. Needs aiobotocore.
        (default: False, but can be overridden in config file by setting default_deferrable to True)
    :param poke_interval: Seconds between status checks. (default: 60)
    :param max_retries: Maximum number of status checks in deferrable mode. (default: 180)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
        If this is ``None`` or empty then the default boto3 behaviour is used.
    :param region_name: AWS region_name. If not specified then the default boto3 behaviour is used.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    # Keep in step with the matching_job_complete waiter in waiters/entityresolution.json.
    INTERMEDIATE_STATES = ("QUEUED", "RUNNING")
    SUCCESS_STATES = ("SUCCEEDED",)
    FAILURE_STATES = ("FAILED",)

    aws_hook_class = EntityResolutionHook
    template_fields: Sequence[str] = aws_template_fields("workflow_name", "job_id")
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        workflow_name: str,
        job_id: str,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: int = 60,
        max_retries: int = 180,
        **kwargs,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.workflow_name = workflow_name
        self.job_id = job_id
        self.deferrable = deferrable
        self.max_retries = max_retries

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context=context)
        self.defer(
            trigger=EntityResolutionMatchingJobCompleteTrigger(
                workflow_name=self.workflow_name,
                job_id=self.job_id,
                waiter_delay=int(self.poke_interval),
                waiter_max_attempts=self.max_retries,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        validated_event = validate_execute_complete_event(event)
        if validated_event["status"] != "success":
            raise EntityResolutionJobFailedError(
                validated_event.get("message") or f"Job failed: {validated_event}"
            )
        self.log.info("Entity Resolution matching job %s succeeded", validated_event["job_id"])

    def poke(self, context: Context) -> bool:
        job = self.hook.get_matching_job(self.workflow_name, self.job_id)
        status = job["status"]
        self.log.info(
            "Entity Resolution matching job %s of %s is %s", self.job_id, self.workflow_name, status
        )
        if status in self.FAILURE_STATES:
            raise EntityResolutionJobFailedError(self.hook.describe_failure(job))
        if status in self.SUCCESS_STATES:
            self.log.info("Matching job metrics: %s", job.get("metrics"))
            return True
        return False
