"""Hook for AWS Entity Resolution matching workflows."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.exceptions import WaiterTerminalFailure
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait

from adplan.aws.exceptions import EntityResolutionJobFailedError

WAITERS_DIR = Path(__file__).resolve().parents[1] / "waiters"


class EntityResolutionHook(AwsBaseHook):
    """
    Interact with AWS Entity Resolution.

    Thin wrapper around :external+boto3:py:class:`boto3.client("entityresolution") <EntityResolution.Client>`.
    Additional arguments (such as ``aws_conn_id``) are passed down to the underlying AwsBaseHook.

    .. seealso::
        - :class:`airflow.providers.amazon.aws.hooks.base_aws.AwsBaseHook`
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["client_type"] = "entityresolution"
        super().__init__(*args, **kwargs)

    @cached_property
    def waiter_path(self) -> Path:
        # The base class looks in the provider's own waiters/ folder, which has no file for this
        # service; get_waiter() would then silently fall back to botocore, which has no such waiter.
        return WAITERS_DIR / "entityresolution.json"

    def start_matching_job(self, workflow_name: str) -> str:
        """Start a run of a matching workflow and return its job id."""
        job_id = self.conn.start_matching_job(workflowName=workflow_name)["jobId"]
        self.log.info("Started Entity Resolution matching job %s of workflow %s", job_id, workflow_name)
        return job_id

    def get_matching_job(self, workflow_name: str, job_id: str) -> dict[str, Any]:
        """Return GetMatchingJob's answer: status, metrics, errorDetails, outputSourceConfig."""
        response = self.conn.get_matching_job(workflowName=workflow_name, jobId=job_id)
        response.pop("ResponseMetadata", None)
        return response

    def get_output_location(self, workflow_name: str) -> str | None:
        """
        Return the S3 prefix the workflow writes its output to (its outputSourceConfig).

        Each run writes below it, in a folder named by the job id, with ``success`` and
        ``error`` sub-folders. None when the workflow has no S3 output (Customer Profiles).
        """
        workflow = self.conn.get_matching_workflow(workflowName=workflow_name)
        for output in workflow["outputSourceConfig"]:
            if output.get("outputS3Path"):
                return output["outputS3Path"]
        return None

    def wait_for_matching_job(
        self, workflow_name: str, job_id: str, *, waiter_delay: int = 60, waiter_max_attempts: int = 180
    ) -> None:
        """Block until the job succeeds; raise with the service's error message if it fails."""
        try:
            wait(
                waiter=self.get_waiter("matching_job_complete"),
                waiter_delay=waiter_delay,
                waiter_max_attempts=waiter_max_attempts,
                args={"workflowName": workflow_name, "jobId": job_id},
                failure_message="AWS Entity Resolution matching job failed",
                status_message="Status of the Entity Resolution matching job is",
                status_args=["status", "errorDetails.errorMessage"],
            )
        except WaiterTerminalFailure as failure:
            raise EntityResolutionJobFailedError(self.describe_failure(failure.last_response)) from failure

    @staticmethod
    def describe_failure(job: dict[str, Any]) -> str:
        """One line about a failed job (a GetMatchingJob answer) that names the service's reason."""
        reason = (job.get("errorDetails") or {}).get("errorMessage") or "the service gave no error message"
        return f"Entity Resolution matching job {job.get('jobId')} {job.get('status')}: {reason}"
