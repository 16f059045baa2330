"""Operator that runs an AWS Clean Rooms protected query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from adplan.aws.exceptions import CleanRoomsQueryFailedError
from adplan.aws.hooks.clean_rooms import CleanRoomsHook
from adplan.aws.triggers.clean_rooms import CleanRoomsProtectedQueryCompleteTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

RESULT_FORMATS = ("CSV", "PARQUET")


class CleanRoomsStartProtectedQueryOperator(AwsBaseOperator[CleanRoomsHook]):
    """
    Run an AWS Clean Rooms SQL protected query that writes its result to S3; return the query id.

    Give one of ``query_string`` (inline SQL or a ``.sql`` template file), ``analysis_template_arn``
    or ``analysis_template_name`` (looked up in the membership when the task runs), the last two with
    their ``parameters``. When the operator waits and the query
    succeeds, the result's S3 location (``result.output.s3.location``) is pushed to XCom under
    the key ``result_location``.

    :param membership_identifier: The membership (id or ARN) that runs the query. (templated)
    :param result_bucket: The S3 bucket the result is written to. (templated)
    :param query_string: The SQL to run. (templated)
    :param analysis_template_arn: The analysis template to run instead of ``query_string``. (templated)
    :param analysis_template_name: The name of the analysis template to run, resolved to its ARN with
        ListAnalysisTemplates in the membership. (templated)
    :param parameters: Values for the analysis template's parameters. (templated)
    :param result_format: ``CSV`` or ``PARQUET``. (default: CSV)
    :param result_key_prefix: The key prefix of the result inside the bucket. (templated)
    :param single_file_output: Ask for one result file instead of several. (default: service default)
    :param compute_configuration: The StartProtectedQuery computeConfiguration, e.g.
        ``{"worker": {"type": "CR.1X", "number": 4}}``. (default: service default)
    :param wait_for_completion: Whether to wait for the query to finish. (default: True)
    :param waiter_delay: Seconds between status checks. (default: 30)
    :param waiter_max_attempts: Maximum number of status checks. (default: 120)
    :param deferrable: If True, wait in the triggerer instead of the worker. This implies waiting
        for completion and needs aiobotocore.
        (default: False, but can be overridden in config file by setting default_deferrable to True)
    :param aws_conn_id: The Airflow connection used for AWS credentials.
        If this is ``None`` or empty then the default boto3 behaviour is used.
    :param region_name: AWS region_name. If not specified then the default boto3 behaviour is used.
    :param verify: Whether or not to verify SSL certificates.
    :param botocore_config: Configuration dictionary (key-values) for botocore client.
    """

    aws_hook_class = CleanRoomsHook
    template_fields: Sequence[str] = aws_template_fields(
        "membership_identifier",
        "query_string",
        "analysis_template_arn",
        "analysis_template_name",
        "parameters",
        "result_bucket",
        "result_key_prefix",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict] = {"query_string": "sql", "parameters": "json"}
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        membership_identifier: str,
        result_bucket: str,
        query_string: str | None = None,
        analysis_template_arn: str | None = None,
        analysis_template_name: str | None = None,
        parameters: dict[str, str] | None = None,
        result_format: str = "CSV",
        result_key_prefix: str | None = None,
        single_file_output: bool | None = None,
        compute_configuration: dict[str, Any] | None = None,
        wait_for_completion: bool = True,
        waiter_delay: int = 30,
        waiter_max_attempts: int = 120,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        given = [query_string, analysis_template_arn, analysis_template_name]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "Give exactly one of query_string, analysis_template_arn and analysis_template_name."
            )
        if result_format not in RESULT_FORMATS:
            raise ValueError(f"result_format must be one of {RESULT_FORMATS}, not {result_format!r}.")
        self.membership_identifier = membership_identifier
        self.result_bucket = result_bucket
        self.query_string = query_string
        self.analysis_template_arn = analysis_template_arn
        self.analysis_template_name = analysis_template_name
        self.parameters = parameters
        self.result_format = result_format
        self.result_key_prefix = result_key_prefix
        self.single_file_output = single_file_output
        self.compute_configuration = compute_configuration
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = deferrable
        self.protected_query_id: str | None = None

    def execute(self, context: Context) -> str:
        if self.analysis_template_name is not None:
            self.analysis_template_arn = self.hook.get_analysis_template_arn(
                self.membership_identifier, self.analysis_template_name
            )
        self.protected_query_id = self.hook.start_protected_query(
            membership_identifier=self.membership_identifier,
            sql_parameters=self._sql_parameters(),
            result_configuration=self._result_configuration(),
            compute_configuration=self.compute_configuration,
        )
        if self.deferrable:
            self.defer(
                trigger=CleanRoomsProtectedQueryCompleteTrigger(
                    membership_identifier=self.membership_identifier,
                    protected_query_id=self.protected_query_id,
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
            self.hook.wait_for_protected_query(
                self.membership_identifier,
                self.protected_query_id,
                waiter_delay=self.waiter_delay,
                waiter_max_attempts=self.waiter_max_attempts,
            )
            self._push_result_location(context, self.protected_query_id)
        return self.protected_query_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        validated_event = validate_execute_complete_event(event)
        if validated_event["status"] != "success":
            raise CleanRoomsQueryFailedError(
                validated_event.get("message") or f"Query failed: {validated_event}"
            )
        self._push_result_location(context, validated_event["protected_query_id"])
        return validated_event["protected_query_id"]

    def on_kill(self) -> None:
        # Airflow calls on_kill only while execute() runs in a worker: a deferred task has no process
        # to kill, so a query waited on by the triggerer keeps running when its task is cleared.
        if self.protected_query_id:
            self.log.info("Cancelling Clean Rooms protected query %s", self.protected_query_id)
            self.hook.cancel_protected_query(self.membership_identifier, self.protected_query_id)

    def _sql_parameters(self) -> dict[str, Any]:
        if self.query_string is not None:
            return {"queryString": self.query_string}
        return {"analysisTemplateArn": self.analysis_template_arn, "parameters": self.parameters or {}}

    def _result_configuration(self) -> dict[str, Any]:
        s3: dict[str, Any] = {"resultFormat": self.result_format, "bucket": self.result_bucket}
        if self.result_key_prefix:
            s3["keyPrefix"] = self.result_key_prefix
        if self.single_file_output is not None:
            s3["singleFileOutput"] = self.single_file_output
        return {"outputConfiguration": {"s3": s3}}

    def _push_result_location(self, context: Context, protected_query_id: str) -> None:
        location = self.hook.get_result_location(self.membership_identifier, protected_query_id)
        self.log.info("Clean Rooms protected query %s wrote its result to %s", protected_query_id, location)
        context["ti"].xcom_push(key="result_location", value=location)
