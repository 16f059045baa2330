"""Trigger that waits in the triggerer for an AWS Entity Resolution matching job."""

from __future__ import annotations

from airflow.providers.amazon.aws.exceptions import WaiterTerminalFailure
from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger
from airflow.providers.common.compat.sdk import AirflowException
from airflow.triggers.base import TriggerEvent

from adplan.aws.hooks.entity_resolution import EntityResolutionHook


class EntityResolutionMatchingJobCompleteTrigger(AwsBaseWaiterTrigger):
    """
    Fire when an Entity Resolution matching job succeeds or fails.

    On success the event is ``{"status": "success", "job_id": ...}``; on failure
    ``{"status": "error", "message": ..., "job_id": ...}`` with the service's errorDetails.errorMessage.

    :param workflow_name: The matching workflow the job belongs to.
    :param job_id: The id StartMatchingJob returned.
    :param waiter_delay: Seconds between status checks. (default: 60)
    :param waiter_max_attempts: Maximum number of status checks. (default: 180)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
    :param region_name: AWS region; taken from the connection when not given.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    aws_hook_class = EntityResolutionHook

    def __init__(
        self,
        *,
        workflow_name: str,
        job_id: str,
        waiter_delay: int = 60,
        waiter_max_attempts: int = 180,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        super().__init__(
            serialized_fields={"workflow_name": workflow_name, "job_id": job_id},
            waiter_name="matching_job_complete",
            waiter_args={"workflowName": workflow_name, "jobId": job_id},
            failure_message="AWS Entity Resolution matching job failed",
            status_message="Status of the Entity Resolution matching job is",
            status_queries=["status", "errorDetails.errorMessage"],
            return_key="job_id",
            return_value=job_id,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
        )

    def _event_from_exception(self, error: AirflowException) -> TriggerEvent:
        # The base event carries the waiter's wording; a failed job should say why it failed.
        if isinstance(error, WaiterTerminalFailure):
            message = EntityResolutionHook.describe_failure(error.last_response)
            return TriggerEvent({"status": "error", "message": message, "job_id": self.return_value})
        return super()._event_from_exception(error)
