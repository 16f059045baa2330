"""Trigger that waits in the triggerer for an AWS Clean Rooms protected query."""

from __future__ import annotations

from airflow.providers.amazon.aws.exceptions import WaiterTerminalFailure
from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger
from airflow.providers.common.compat.sdk import AirflowException
from airflow.triggers.base import TriggerEvent

from adplan.aws.hooks.clean_rooms import CleanRoomsHook


class CleanRoomsProtectedQueryCompleteTrigger(AwsBaseWaiterTrigger):
    """
    Fire when a Clean Rooms protected query succeeds, fails, is cancelled or times out.

    On success the event is ``{"status": "success", "protected_query_id": ...}``; otherwise
    ``{"status": "error", "message": ..., "error_code": ..., "protected_query_id": ...}`` with the
    service's ``error.code`` and ``error.message``.

    :param membership_identifier: The membership (id or ARN) the query runs in.
    :param protected_query_id: The id StartProtectedQuery returned.
    :param waiter_delay: Seconds between status checks. (default: 30)
    :param waiter_max_attempts: Maximum number of status checks. (default: 120)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
    :param region_name: AWS region; taken from the connection when not given.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    aws_hook_class = CleanRoomsHook

    def __init__(
        self,
        *,
        membership_identifier: str,
        protected_query_id: str,
        waiter_delay: int = 30,
        waiter_max_attempts: int = 120,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        super().__init__(
            serialized_fields={
                "membership_identifier": membership_identifier,
                "protected_query_id": protected_query_id,
            },
            waiter_name="protected_query_complete",
            waiter_args={
                "membershipIdentifier": membership_identifier,
                "protectedQueryIdentifier": protected_query_id,
            },
            failure_message="AWS Clean Rooms protected query failed",
            status_message="Status of the Clean Rooms protected query is",
            status_queries=[
                "protectedQuery.status",
                "protectedQuery.error.code",
                "protectedQuery.error.message",
            ],
            return_key="protected_query_id",
            return_value=protected_query_id,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
        )

    def _event_from_exception(self, error: AirflowException) -> TriggerEvent:
        # The base event carries the waiter's wording; a failed query should say why it failed.
        if isinstance(error, WaiterTerminalFailure):
            query = error.last_response["protectedQuery"]
            return TriggerEvent(
                {
                    "status": "error",
                    "message": CleanRoomsHook.describe_failure(query),
                    "error_code": (query.get("error") or {}).get("code"),
                    "protected_query_id": self.return_value,
                }
            )
        return super()._event_from_exception(error)
