"""Operator that runs an AWS Entity Resolution matching workflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from adplan.aws.exceptions import EntityResolutionJobFailedError
from adplan.aws.hooks.entity_resolution import EntityResolutionHook
from adplan.aws.triggers.entity_resolution import EntityResolutionMatchingJobCompleteTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class EntityResolutionStartMatchingJobOperator(AwsBaseOperator[EntityResolutionHook]):
    """
    Start a job of an AWS Entity Resolution matching workflow and return its job id.

    :param workflow_name: The matching workflow to run. (templated)
    :param wait_for_completion: Whether to wait for the job to finish. (default: True)
    :param waiter_delay: Seconds between status checks. (default: 60)
    :param waiter_max_attempts: Maximum number of status checks. (default: 180)
    :param deferrable: If True, wait in the triggerer instead of the worker. This implies waiting
        for completion and needs aiobotocore.
        (default: False, but can be overridden in config file by setting default_deferrable to True)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
        If this is ``None`` or empty then the default boto3 behaviour is used.
    :param region_name: AWS region_name. If not specified then the default boto3 behaviour is used.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    aws_hook_class = EntityResolutionHook
    template_fields: Sequence[str] = aws_template_fields("workflow_name")
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        workflow_name: str,
        wait_for_completion: bool = True,
        waiter_delay: int = 60,
        waiter_max_attempts: int = 180,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_name = workflow_name
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = deferrable

    def execute(self, context: Context) -> str:
        job_id = self.hook.start_matching_job(self.workflow_name)
        if self.deferrable:
            self.defer(
                trigger=EntityResolutionMatchingJobCompleteTrigger(
                    workflow_name=self.workflow_name,
                    job_id=job_id,
                    waiter_delay=self.waiter_delay,
                    waiter_max_attempts=self.waiter_max_attempts,
                    aws_conn_id=self.aws_conn_id,
                    region_name=self.region_name,
                    verify=self.verify,
                    botocore_config=self.botocore_config,
                ),
                method_name="execute_complete",
            )
        elif self.wait_for_completion:
            self.hook.wait_for_matching_job(
                self.workflow_name,
                job_id,
                waiter_delay=self.waiter_delay,
                waiter_max_attempts=self.waiter_max_attempts,
            )
            self.log.info("Entity Resolution matching job %s succeeded", job_id)
        return job_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        validated_event = validate_execute_complete_event(event)
        if validated_event["status"] != "success":
            raise EntityResolutionJobFailedError(
                validated_event.get("message") or f"Job failed: {validated_event}"
            )
        self.log.info("Entity Resolution matching job %s succeeded", validated_event["job_id"])
        return validated_event["job_id"]
