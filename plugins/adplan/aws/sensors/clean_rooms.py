"""Sensor that waits for an AWS Clean Rooms protected query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import PokeReturnValue, conf

from adplan.aws.exceptions import CleanRoomsQueryFailedError
from adplan.aws.hooks.clean_rooms import CleanRoomsHook
from adplan.aws.triggers.clean_rooms import CleanRoomsProtectedQueryCompleteTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class CleanRoomsProtectedQuerySensor(AwsBaseSensor[CleanRoomsHook]):
    """
    Wait for an AWS Clean Rooms protected query to succeed and return its result's S3 location.

    Fails with the service's ``error.code`` and ``error.message`` if the query fails, is
    cancelled or times out. The result location (``result.output.s3.location``) is the
    sensor's XCom return value.

    :param membership_identifier: The membership (id or ARN) the query runs in. (templated)
    :param protected_query_id: The id StartProtectedQuery returned. (templated)
    :param deferrable: If True, wait in the triggerer. Needs aiobotocore.
        (default: False, but can be overridden in config file by setting default_deferrable to True)
    :param poke_interval: Seconds between status checks. (default: 30)
    :param max_retries: Maximum number of status checks in deferrable mode. (default: 120)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
        If this is ``None`` or empty then the default boto3 behaviour is used.
    :param region_name: AWS region_name. If not specified then the default boto3 behaviour is used.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    # Keep in step with the protected_query_complete waiter in waiters/cleanrooms.json.
    INTERMEDIATE_STATES = ("SUBMITTED", "STARTED", "CANCELLING")
    SUCCESS_STATES = ("SUCCESS",)
    FAILURE_STATES = ("FAILED", "CANCELLED", "TIMED_OUT")

    aws_hook_class = CleanRoomsHook
    template_fields: Sequence[str] = aws_template_fields("membership_identifier", "protected_query_id")
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        membership_identifier: str,
        protected_query_id: str,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: int = 30,
        max_retries: int = 120,
        **kwargs,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.membership_identifier = membership_identifier
        self.protected_query_id = protected_query_id
        self.deferrable = deferrable
        self.max_retries = max_retries

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context=context)
        self.defer(
            trigger=CleanRoomsProtectedQueryCompleteTrigger(
                membership_identifier=self.membership_identifier,
                protected_query_id=self.protected_query_id,
                waiter_delay=int(self.poke_interval),
                waiter_max_attempts=self.max_retries,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str | None:
        validated_event = validate_execute_complete_event(event)
        if validated_event["status"] != "success":
            raise CleanRoomsQueryFailedError(
                validated_event.get("message") or f"Query failed: {validated_event}"
            )
        return self.hook.get_result_location(self.membership_identifier, self.protected_query_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        query = self.hook.get_protected_query(self.membership_identifier, self.protected_query_id)
        status = query["status"]
        self.log.info("Clean Rooms protected query %s is %s", self.protected_query_id, status)
        if status in self.FAILURE_STATES:
            raise CleanRoomsQueryFailedError(self.hook.describe_failure(query))
        if status in self.SUCCESS_STATES:
            return PokeReturnValue(is_done=True, xcom_value=self.hook.result_location(query))
        return False
