"""Hook for AWS Clean Rooms protected queries."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.exceptions import WaiterTerminalFailure
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait

from adplan.aws.exceptions import CleanRoomsQueryFailedError

WAITERS_DIR = Path(__file__).resolve().parents[1] / "waiters"


class CleanRoomsHook(AwsBaseHook):
    """
    Interact with AWS Clean Rooms.

    Thin wrapper around :external+boto3:py:class:`boto3.client("cleanrooms") <CleanRoomsService.Client>`.
    Additional arguments (such as ``aws_conn_id``) are passed down to the underlying AwsBaseHook.

    .. seealso::
        - :class:`airflow.providers.amazon.aws.hooks.base_aws.AwsBaseHook`
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["client_type"] = "cleanrooms"
        super().__init__(*args, **kwargs)

    @cached_property
    def waiter_path(self) -> Path:
        # The base class looks in the provider's own waiters/ folder, which has no file for this
        # service; get_waiter() would then silently fall back to botocore, whose Clean Rooms
        # waiter file is empty.
        return WAITERS_DIR / "cleanrooms.json"

    def start_protected_query(
        self,
        membership_identifier: str,
        sql_parameters: dict[str, Any],
        result_configuration: dict[str, Any],
        compute_configuration: dict[str, Any] | None = None,
    ) -> str:
        """Start a SQL protected query in a membership and return the protected query id."""
        extra = {"computeConfiguration": compute_configuration} if compute_configuration else {}
        query = self.conn.start_protected_query(
            type="SQL",
            membershipIdentifier=membership_identifier,
            sqlParameters=sql_parameters,
            resultConfiguration=result_configuration,
            **extra,
        )["protectedQuery"]
        self.log.info(
            "Started Clean Rooms protected query %s in membership %s", query["id"], membership_identifier
        )
        return query["id"]

    def get_analysis_template_arn(self, membership_identifier: str, name: str) -> str:
        """The ARN of the membership's analysis template called ``name`` (ListAnalysisTemplates).

        Template ids are made by the service, so a template is addressed by the name it was created
        with (``include/config/collaboration.yaml``); no template or two of that name is an error.
        """
        paginator = self.conn.get_paginator("list_analysis_templates")
        found = [
            summary["arn"]
            for page in paginator.paginate(membershipIdentifier=membership_identifier)
            for summary in page["analysisTemplateSummaries"]
            if summary["name"] == name
        ]
        if len(found) != 1:
            raise ValueError(
                f"membership {membership_identifier} has {len(found)} analysis templates named {name!r}, "
                "not one"
            )
        return found[0]

    def get_protected_query(self, membership_identifier: str, protected_query_id: str) -> dict[str, Any]:
        """Return the protectedQuery of GetProtectedQuery: status, error, result, statistics."""
        return self.conn.get_protected_query(
            membershipIdentifier=membership_identifier, protectedQueryIdentifier=protected_query_id
        )["protectedQuery"]

    def get_result_location(self, membership_identifier: str, protected_query_id: str) -> str | None:
        """Return the S3 location of a finished query's result (None until it has one)."""
        return self.result_location(self.get_protected_query(membership_identifier, protected_query_id))

    def cancel_protected_query(self, membership_identifier: str, protected_query_id: str) -> None:
        """Ask Clean Rooms to cancel a query; it passes through CANCELLING to CANCELLED."""
        self.conn.update_protected_query(
            membershipIdentifier=membership_identifier,
            protectedQueryIdentifier=protected_query_id,
            targetStatus="CANCELLED",
        )

    def wait_for_protected_query(
        self,
        membership_identifier: str,
        protected_query_id: str,
        *,
        waiter_delay: int = 30,
        waiter_max_attempts: int = 120,
    ) -> None:
        """Block until the query succeeds; raise with the service's error code and message if not."""
        try:
            wait(
                waiter=self.get_waiter("protected_query_complete"),
                waiter_delay=waiter_delay,
                waiter_max_attempts=waiter_max_attempts,
                args={
                    "membershipIdentifier": membership_identifier,
                    "protectedQueryIdentifier": protected_query_id,
                },
                failure_message="AWS Clean Rooms protected query failed",
                status_message="Status of the Clean Rooms protected query is",
                status_args=[
                    "protectedQuery.status",
                    "protectedQuery.error.code",
                    "protectedQuery.error.message",
                ],
            )
        except WaiterTerminalFailure as failure:
            query = failure.last_response["protectedQuery"]
            raise CleanRoomsQueryFailedError(self.describe_failure(query)) from failure

    @staticmethod
    def result_location(query: dict[str, Any]) -> str | None:
        """The ``result.output.s3.location`` of a protectedQuery, if it has one."""
        return ((query.get("result") or {}).get("output") or {}).get("s3", {}).get("location")

    @staticmethod
    def describe_failure(query: dict[str, Any]) -> str:
        """One line about a query that did not succeed (a protectedQuery), with error code and message."""
        line = f"Clean Rooms protected query {query.get('id')} {query.get('status')}"
        error = query.get("error")
        return f"{line}: {error.get('code')}: {error.get('message')}" if error else line
