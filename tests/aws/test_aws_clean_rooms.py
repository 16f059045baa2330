"""Clean Rooms: waiter JSON, hook, operator, sensor and trigger against stubbed clients."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from unittest.mock import MagicMock

import pytest
from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.providers.common.compat.sdk import AirflowException, PokeReturnValue
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.module_loading import import_string
from botocore.exceptions import ClientError, WaiterError

from adplan.aws.exceptions import CleanRoomsQueryFailedError
from adplan.aws.hooks.clean_rooms import CleanRoomsHook
from adplan.aws.operators.clean_rooms import CleanRoomsStartProtectedQueryOperator
from adplan.aws.sensors.clean_rooms import CleanRoomsProtectedQuerySensor
from adplan.aws.triggers.clean_rooms import CleanRoomsProtectedQueryCompleteTrigger

MEMBERSHIP = "a1b2c3d4-0000-1111-2222-333344445555"
QUERY_ID = "f0e1d2c3-aaaa-bbbb-cccc-ddddeeeeffff"
QUERY_PARAMS = {"membershipIdentifier": MEMBERSHIP, "protectedQueryIdentifier": QUERY_ID}
LOCATION = f"s3://adplan-cleanrooms/results/{QUERY_ID}/result.csv"
ERROR = {"code": "INVALID_QUERY", "message": "Column email is not allowed in the SELECT list"}
TEMPLATE_ARN = f"arn:aws:cleanrooms:us-east-1:111122223333:membership/{MEMBERSHIP}/analysistemplate/overlap"


def protected_query(status: str) -> dict:
    """A GetProtectedQuery answer in the service's shape; FAILED carries ERROR, SUCCESS a result."""
    query = {
        "id": QUERY_ID,
        "membershipId": MEMBERSHIP,
        "membershipArn": f"arn:aws:cleanrooms:us-east-1:111122223333:membership/{MEMBERSHIP}",
        "createTime": datetime(2026, 1, 5, tzinfo=UTC),
        "status": status,
    }
    if status == "FAILED":
        query["error"] = ERROR
    if status == "SUCCESS":
        query["result"] = {"output": {"s3": {"location": LOCATION}}}
    return {"protectedQuery": query}


@pytest.fixture
def cr_stub(stub_hook_client):
    return stub_hook_client(CleanRoomsHook, "cleanrooms")


def queue_statuses(stubber, *statuses: str) -> None:
    for status in statuses:
        stubber.add_response("get_protected_query", protected_query(status), QUERY_PARAMS)


class TestProtectedQueryCompleteWaiter:
    def wait(self, max_attempts: int) -> None:
        waiter = CleanRoomsHook().get_waiter("protected_query_complete")
        waiter.wait(**QUERY_PARAMS, WaiterConfig={"Delay": 0, "MaxAttempts": max_attempts})

    def test_hook_finds_the_waiter_in_adplan_not_in_the_provider(self, cr_stub):
        hook = CleanRoomsHook()
        assert hook.waiter_path.is_file()
        assert "adplan" in hook.waiter_path.parts
        assert "protected_query_complete" in hook.list_waiters()

    def test_success_is_success(self, cr_stub):
        queue_statuses(cr_stub, "SUCCESS")
        self.wait(max_attempts=1)

    def test_submitted_started_and_cancelling_retry_until_success(self, cr_stub):
        queue_statuses(cr_stub, "SUBMITTED", "STARTED", "CANCELLING", "SUCCESS")
        self.wait(max_attempts=5)

    @pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "TIMED_OUT"])
    def test_failure_states_are_terminal(self, cr_stub, status):
        queue_statuses(cr_stub, "STARTED", status)
        with pytest.raises(WaiterError, match="terminal failure") as failure:
            self.wait(max_attempts=5)
        assert failure.value.last_response["protectedQuery"]["status"] == status

    def test_failed_carries_error_code_and_message(self, cr_stub):
        queue_statuses(cr_stub, "FAILED")
        with pytest.raises(WaiterError) as failure:
            self.wait(max_attempts=5)
        assert failure.value.last_response["protectedQuery"]["error"] == ERROR

    def test_gives_up_after_max_attempts(self, cr_stub):
        queue_statuses(cr_stub, "SUBMITTED", "STARTED")
        with pytest.raises(WaiterError, match="Max attempts exceeded"):
            self.wait(max_attempts=2)

    def test_sensor_states_match_the_waiter_acceptors(self):
        waiter = json.loads(CleanRoomsHook().waiter_path.read_text())["waiters"]["protected_query_complete"]
        by_state = {
            state: {a["expected"] for a in waiter["acceptors"] if a["state"] == state}
            for state in ("retry", "success", "failure")
        }
        assert by_state["retry"] == set(CleanRoomsProtectedQuerySensor.INTERMEDIATE_STATES)
        assert by_state["success"] == set(CleanRoomsProtectedQuerySensor.SUCCESS_STATES)
        assert by_state["failure"] == set(CleanRoomsProtectedQuerySensor.FAILURE_STATES)


class TestCleanRoomsHook:
    def test_get_result_location(self, cr_stub):
        queue_statuses(cr_stub, "SUCCESS")
        assert CleanRoomsHook().get_result_location(MEMBERSHIP, QUERY_ID) == LOCATION

    def test_result_location_is_none_before_success(self):
        assert CleanRoomsHook.result_location(protected_query("STARTED")["protectedQuery"]) is None

    def test_describe_failure_names_status_code_and_message(self):
        line = CleanRoomsHook.describe_failure(protected_query("FAILED")["protectedQuery"])
        assert line == f"Clean Rooms protected query {QUERY_ID} FAILED: {ERROR['code']}: {ERROR['message']}"

    def test_describe_failure_without_error_names_the_status(self):
        line = CleanRoomsHook.describe_failure(protected_query("CANCELLED")["protectedQuery"])
        assert line == f"Clean Rooms protected query {QUERY_ID} CANCELLED"

    def test_wait_raises_error_code_and_message(self, cr_stub):
        queue_statuses(cr_stub, "FAILED")
        with pytest.raises(CleanRoomsQueryFailedError, match=ERROR["code"]) as failure:
            CleanRoomsHook().wait_for_protected_query(
                MEMBERSHIP, QUERY_ID, waiter_delay=0, waiter_max_attempts=3
            )
        assert ERROR["message"] in str(failure.value)

    def test_wait_gives_up_after_max_attempts(self, cr_stub):
        queue_statuses(cr_stub, "STARTED", "STARTED")
        with pytest.raises(WaiterMaxAttemptsError):
            CleanRoomsHook().wait_for_protected_query(
                MEMBERSHIP, QUERY_ID, waiter_delay=0, waiter_max_attempts=2
            )

    def test_cancel_protected_query(self, cr_stub):
        cr_stub.add_response(
            "update_protected_query",
            protected_query("CANCELLING"),
            {**QUERY_PARAMS, "targetStatus": "CANCELLED"},
        )
        CleanRoomsHook().cancel_protected_query(MEMBERSHIP, QUERY_ID)


class TestStartProtectedQueryOperator:
    SQL = "SELECT COUNT(DISTINCT hashed_email) AS overlap FROM advertiser_crm JOIN publisher_users USING (hashed_email)"

    @staticmethod
    def operator(**kwargs) -> CleanRoomsStartProtectedQueryOperator:
        kwargs.setdefault("query_string", TestStartProtectedQueryOperator.SQL)
        return CleanRoomsStartProtectedQueryOperator(
            task_id="audience_overlap",
            membership_identifier=MEMBERSHIP,
            result_bucket="adplan-cleanrooms",
            waiter_delay=0,
            **kwargs,
        )

    @staticmethod
    def expect_start(stubber, sql_parameters: dict, s3: dict, **extra) -> None:
        stubber.add_response(
            "start_protected_query",
            protected_query("SUBMITTED"),
            {
                "type": "SQL",
                "membershipIdentifier": MEMBERSHIP,
                "sqlParameters": sql_parameters,
                "resultConfiguration": {"outputConfiguration": {"s3": s3}},
                **extra,
            },
        )

    @pytest.fixture
    def started(self, cr_stub):
        self.expect_start(
            cr_stub, {"queryString": self.SQL}, {"resultFormat": "CSV", "bucket": "adplan-cleanrooms"}
        )
        return cr_stub

    @pytest.fixture
    def context(self):
        return {"ti": MagicMock()}

    def test_no_wait_returns_the_query_id_without_polling(self, started, context):
        # The stubber has no GetProtectedQuery answer queued: a poll would raise.
        assert self.operator(wait_for_completion=False, deferrable=False).execute(context) == QUERY_ID
        context["ti"].xcom_push.assert_not_called()

    def test_analysis_template_parquet_and_compute_are_sent_as_the_api_expects(self, cr_stub, context):
        compute = {"worker": {"type": "CR.4X", "number": 8}}
        self.expect_start(
            cr_stub,
            {"analysisTemplateArn": TEMPLATE_ARN, "parameters": {"campaign_id": "cmp-42"}},
            {
                "resultFormat": "PARQUET",
                "bucket": "adplan-cleanrooms",
                "keyPrefix": "overlap/",
                "singleFileOutput": True,
            },
            computeConfiguration=compute,
        )
        operator = self.operator(
            query_string=None,
            analysis_template_arn=TEMPLATE_ARN,
            parameters={"campaign_id": "cmp-42"},
            result_format="PARQUET",
            result_key_prefix="overlap/",
            single_file_output=True,
            compute_configuration=compute,
            wait_for_completion=False,
            deferrable=False,
        )
        assert operator.execute(context) == QUERY_ID

    def test_wait_polls_until_success_and_pushes_the_result_location(self, started, context):
        # Two polls by the waiter, then one read of the finished query for its location.
        queue_statuses(started, "SUBMITTED", "STARTED", "SUCCESS", "SUCCESS")
        assert self.operator(deferrable=False).execute(context) == QUERY_ID
        context["ti"].xcom_push.assert_called_once_with(key="result_location", value=LOCATION)

    def test_wait_fails_with_error_code_and_message(self, started, context):
        queue_statuses(started, "STARTED", "FAILED")
        with pytest.raises(CleanRoomsQueryFailedError, match=f"{ERROR['code']}: {ERROR['message']}"):
            self.operator(deferrable=False).execute(context)
        context["ti"].xcom_push.assert_not_called()

    def test_deferrable_defers_to_the_protected_query_trigger(self, started, context):
        with pytest.raises(TaskDeferred) as deferred:
            self.operator(deferrable=True, waiter_max_attempts=9, aws_conn_id="cr_conn").execute(context)
        trigger = deferred.value.trigger
        assert isinstance(trigger, CleanRoomsProtectedQueryCompleteTrigger)
        assert deferred.value.method_name == "execute_complete"
        _, kwargs = trigger.serialize()
        assert kwargs["membership_identifier"] == MEMBERSHIP
        assert kwargs["protected_query_id"] == QUERY_ID
        assert kwargs["waiter_max_attempts"] == 9
        assert kwargs["aws_conn_id"] == "cr_conn"

    def test_execute_complete_pushes_the_result_location_on_success(self, cr_stub, context):
        queue_statuses(cr_stub, "SUCCESS")
        event = {"status": "success", "protected_query_id": QUERY_ID}
        assert self.operator().execute_complete(context, event) == QUERY_ID
        context["ti"].xcom_push.assert_called_once_with(key="result_location", value=LOCATION)

    def test_execute_complete_raises_the_trigger_message_on_failure(self, context):
        event = {"status": "error", "message": "FAILED: INVALID_QUERY: no", "protected_query_id": QUERY_ID}
        with pytest.raises(CleanRoomsQueryFailedError, match="INVALID_QUERY"):
            self.operator().execute_complete(context, event)

    def test_on_kill_cancels_the_running_query(self, started, cr_stub, context):
        operator = self.operator(wait_for_completion=False, deferrable=False)
        operator.execute(context)
        cr_stub.add_response(
            "update_protected_query",
            protected_query("CANCELLING"),
            {**QUERY_PARAMS, "targetStatus": "CANCELLED"},
        )
        operator.on_kill()

    @pytest.mark.parametrize(
        ("kwargs", "complaint"),
        [
            pytest.param(
                {"query_string": None}, "exactly one of query_string", id="neither-sql-nor-template"
            ),
            pytest.param({"analysis_template_arn": TEMPLATE_ARN}, "exactly one of query_string", id="both"),
            pytest.param(
                {"result_format": "JSON"}, "result_format must be one of", id="unknown-result-format"
            ),
        ],
    )
    def test_rejects_bad_arguments_when_the_dag_is_parsed(self, kwargs, complaint):
        with pytest.raises(ValueError, match=complaint):
            self.operator(**kwargs)

    def test_query_string_can_be_a_sql_template_file(self):
        assert "query_string" in CleanRoomsStartProtectedQueryOperator.template_fields
        assert ".sql" in CleanRoomsStartProtectedQueryOperator.template_ext


class TestProtectedQuerySensor:
    @staticmethod
    def sensor(**kwargs) -> CleanRoomsProtectedQuerySensor:
        return CleanRoomsProtectedQuerySensor(
            task_id="wait_for_overlap",
            membership_identifier=MEMBERSHIP,
            protected_query_id=QUERY_ID,
            **kwargs,
        )

    @pytest.mark.parametrize("status", CleanRoomsProtectedQuerySensor.INTERMEDIATE_STATES)
    def test_poke_keeps_waiting(self, cr_stub, status):
        queue_statuses(cr_stub, status)
        assert self.sensor().poke({}) is False

    def test_poke_success_returns_the_result_location(self, cr_stub):
        queue_statuses(cr_stub, "SUCCESS")
        result = self.sensor().poke({})
        assert isinstance(result, PokeReturnValue)
        assert result.is_done
        assert result.xcom_value == LOCATION

    @pytest.mark.parametrize("status", CleanRoomsProtectedQuerySensor.FAILURE_STATES)
    def test_poke_raises_on_failure_states(self, cr_stub, status):
        queue_statuses(cr_stub, status)
        with pytest.raises(CleanRoomsQueryFailedError, match=status):
            self.sensor().poke({})

    def test_poke_failure_names_error_code_and_message(self, cr_stub):
        queue_statuses(cr_stub, "FAILED")
        with pytest.raises(CleanRoomsQueryFailedError, match=f"{ERROR['code']}: {ERROR['message']}"):
            self.sensor().poke({})

    def test_deferrable_defers_with_poke_interval_and_max_retries(self):
        with pytest.raises(TaskDeferred) as deferred:
            self.sensor(deferrable=True, poke_interval=10, max_retries=3).execute({})
        trigger = deferred.value.trigger
        assert isinstance(trigger, CleanRoomsProtectedQueryCompleteTrigger)
        assert (trigger.waiter_delay, trigger.attempts) == (10, 3)
        assert deferred.value.method_name == "execute_complete"

    def test_execute_complete_returns_the_result_location(self, cr_stub):
        queue_statuses(cr_stub, "SUCCESS")
        event = {"status": "success", "protected_query_id": QUERY_ID}
        assert self.sensor().execute_complete({}, event) == LOCATION

    def test_execute_complete_raises_on_failure(self):
        event = {"status": "error", "message": "TIMED_OUT", "protected_query_id": QUERY_ID}
        with pytest.raises(CleanRoomsQueryFailedError, match="TIMED_OUT"):
            self.sensor().execute_complete({}, event)


class TestProtectedQueryCompleteTrigger:
    @staticmethod
    def trigger(**kwargs) -> CleanRoomsProtectedQueryCompleteTrigger:
        return CleanRoomsProtectedQueryCompleteTrigger(
            membership_identifier=MEMBERSHIP,
            protected_query_id=QUERY_ID,
            waiter_delay=0,
            aws_conn_id=None,
            **kwargs,
        )

    @staticmethod
    def responses(*statuses: str) -> list[tuple[str, dict, dict]]:
        return [("get_protected_query", protected_query(s), QUERY_PARAMS) for s in statuses]

    def test_serialize_round_trip(self):
        trigger = self.trigger(waiter_max_attempts=5, region_name="eu-west-1", verify=False)
        classpath, kwargs = trigger.serialize()
        assert classpath == "adplan.aws.triggers.clean_rooms.CleanRoomsProtectedQueryCompleteTrigger"
        assert kwargs["membership_identifier"] == MEMBERSHIP
        assert kwargs["protected_query_id"] == QUERY_ID
        rebuilt = import_string(classpath)(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)

    def test_run_yields_success_after_retries(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=5)
        events = run_trigger(trigger, "cleanrooms", self.responses("SUBMITTED", "STARTED", "SUCCESS"))
        assert [event.payload for event in events] == [{"status": "success", "protected_query_id": QUERY_ID}]

    def test_run_yields_error_with_code_and_message(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=5)
        [event] = run_trigger(trigger, "cleanrooms", self.responses("STARTED", "FAILED"))
        assert event.payload["status"] == "error"
        assert event.payload["error_code"] == ERROR["code"]
        assert ERROR["message"] in event.payload["message"]
        assert event.payload["protected_query_id"] == QUERY_ID

    def test_run_yields_error_when_cancelled(self, run_trigger):
        [event] = run_trigger(self.trigger(waiter_max_attempts=5), "cleanrooms", self.responses("CANCELLED"))
        assert event.payload["status"] == "error"
        assert event.payload["error_code"] is None
        assert "CANCELLED" in event.payload["message"]

    def test_run_yields_error_after_max_attempts(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=2)
        [event] = run_trigger(trigger, "cleanrooms", self.responses("STARTED", "STARTED"))
        assert event.payload["status"] == "error"
        assert "max attempts" in event.payload["message"]


# --- paths the classes above leave out: every other GetProtectedQuery status, and API errors -----------


def client_error(stubber, method: str, code: str, message: str, status: int = 400, params=None) -> None:
    stubber.add_client_error(
        method,
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        expected_params=params,
    )


class TestStatusAndErrorPaths:
    operator = staticmethod(TestStartProtectedQueryOperator.operator)

    @pytest.fixture
    def started(self, cr_stub):
        TestStartProtectedQueryOperator.expect_start(
            cr_stub,
            {"queryString": TestStartProtectedQueryOperator.SQL},
            {"resultFormat": "CSV", "bucket": "adplan-cleanrooms"},
        )
        return cr_stub

    @pytest.mark.parametrize("status", ["CANCELLED", "TIMED_OUT"])
    def test_wait_fails_on_cancelled_and_timed_out(self, started, status):
        queue_statuses(started, "SUBMITTED", "CANCELLING", status)
        context = {"ti": MagicMock()}
        with pytest.raises(CleanRoomsQueryFailedError, match=f"{QUERY_ID} {status}$"):
            self.operator(deferrable=False).execute(context)
        context["ti"].xcom_push.assert_not_called()

    def test_wait_gives_up_after_max_attempts(self, started):
        queue_statuses(started, "SUBMITTED", "STARTED")
        with pytest.raises(WaiterMaxAttemptsError):
            self.operator(deferrable=False, waiter_max_attempts=2).execute({"ti": MagicMock()})

    @pytest.mark.parametrize(
        ("code", "status"),
        [
            ("ValidationException", 400),  # the service refuses the query at submission
            ("AccessDeniedException", 403),
            ("ResourceNotFoundException", 404),  # no such membership
            ("ServiceQuotaExceededException", 402),
        ],
    )
    def test_start_errors_raise_without_polling(self, cr_stub, code, status):
        client_error(cr_stub, "start_protected_query", code, "refused", status)
        with pytest.raises(ClientError, match=code):
            self.operator(deferrable=True).execute({"ti": MagicMock()})

    def test_throttled_status_check_is_retried(self, started):
        started.add_client_error("get_protected_query", "ThrottlingException", "slow down", 400)
        queue_statuses(started, "SUCCESS", "SUCCESS")
        context = {"ti": MagicMock()}
        assert self.operator(deferrable=False, waiter_max_attempts=2).execute(context) == QUERY_ID
        context["ti"].xcom_push.assert_called_once_with(key="result_location", value=LOCATION)

    def test_status_check_error_fails_the_wait(self, started):
        started.add_client_error("get_protected_query", "ResourceNotFoundException", "gone", 404)
        with pytest.raises(AirflowException, match="ResourceNotFoundException"):
            self.operator(deferrable=False).execute({"ti": MagicMock()})

    def test_sensor_poke_lets_api_errors_through(self, cr_stub):
        client_error(cr_stub, "get_protected_query", "AccessDeniedException", "no", 403, QUERY_PARAMS)
        with pytest.raises(ClientError, match="AccessDeniedException"):
            TestProtectedQuerySensor.sensor().poke({})

    @pytest.mark.parametrize("status", ["TIMED_OUT", "CANCELLED"])
    def test_trigger_yields_error_for_other_failure_states(self, run_trigger, status):
        trigger = TestProtectedQueryCompleteTrigger.trigger(waiter_max_attempts=5)
        responses = TestProtectedQueryCompleteTrigger.responses("SUBMITTED", "CANCELLING", status)
        [event] = run_trigger(trigger, "cleanrooms", responses)
        assert event.payload["status"] == "error"
        assert event.payload["message"] == f"Clean Rooms protected query {QUERY_ID} {status}"
        assert event.payload["protected_query_id"] == QUERY_ID

    def test_trigger_yields_error_on_an_api_error(self, run_trigger, monkeypatch):
        trigger = TestProtectedQueryCompleteTrigger.trigger(waiter_max_attempts=5)
        error = {"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}

        async def failing_wait(*args, **kwargs):
            raise AirflowException(f"AWS Clean Rooms protected query failed\n{error}")

        monkeypatch.setattr("airflow.providers.amazon.aws.triggers.base.async_wait", failing_wait)
        [event] = run_trigger(trigger, "cleanrooms", [])
        assert event.payload["status"] == "error"
        assert "ResourceNotFoundException" in event.payload["message"]
        assert event.payload["protected_query_id"] == QUERY_ID

    def test_success_without_a_result_location_pushes_none(self, cr_stub):
        query = protected_query("SUCCESS")
        del query["protectedQuery"]["result"]
        cr_stub.add_response("get_protected_query", query, QUERY_PARAMS)
        context = {"ti": MagicMock()}
        self.operator().execute_complete(context, {"status": "success", "protected_query_id": QUERY_ID})
        context["ti"].xcom_push.assert_called_once_with(key="result_location", value=None)


# --- analysis templates by name ----------------------------------------------------------------------


def template_summary(name: str, template_id: str) -> dict:
    template_id = f"{template_id:0>8}-0000-4000-8000-000000000000"  # ids are UUIDs
    membership_arn = f"arn:aws:cleanrooms:us-east-1:111122223333:membership/{MEMBERSHIP}"
    return {
        "arn": f"{membership_arn}/analysistemplate/{template_id}",
        "createTime": datetime(2026, 1, 5, tzinfo=UTC),
        "id": template_id,
        "name": name,
        "updateTime": datetime(2026, 1, 5, tzinfo=UTC),
        "membershipArn": membership_arn,
        "membershipId": MEMBERSHIP,
        "collaborationArn": "arn:aws:cleanrooms:us-east-1:111122223333:collaboration/c0ffee00-0000-1111-2222-333344445555",
        "collaborationId": "c0ffee00-0000-1111-2222-333344445555",
    }


class TestAnalysisTemplateByName:
    def test_name_is_found_across_pages(self, cr_stub):
        cr_stub.add_response(
            "list_analysis_templates",
            {"analysisTemplateSummaries": [template_summary("other", "t1")], "nextToken": "page-2"},
            {"membershipIdentifier": MEMBERSHIP},
        )
        cr_stub.add_response(
            "list_analysis_templates",
            {"analysisTemplateSummaries": [template_summary("conversions_by_creative", "t2")]},
            {"membershipIdentifier": MEMBERSHIP, "nextToken": "page-2"},
        )
        arn = CleanRoomsHook().get_analysis_template_arn(MEMBERSHIP, "conversions_by_creative")
        assert arn == template_summary("conversions_by_creative", "t2")["arn"]

    @pytest.mark.parametrize(
        ("summaries", "count"),
        [([], 0), ([template_summary("x", "t1"), template_summary("x", "t2")], 2)],
        ids=["missing", "ambiguous"],
    )
    def test_missing_or_ambiguous_name_is_an_error(self, cr_stub, summaries, count):
        cr_stub.add_response("list_analysis_templates", {"analysisTemplateSummaries": summaries})
        with pytest.raises(ValueError, match=f"has {count} analysis templates named 'x'"):
            CleanRoomsHook().get_analysis_template_arn(MEMBERSHIP, "x")

    def test_operator_starts_the_template_it_found(self, cr_stub):
        cr_stub.add_response(
            "list_analysis_templates",
            {"analysisTemplateSummaries": [template_summary("overlap", "t9")]},
            {"membershipIdentifier": MEMBERSHIP},
        )
        arn = template_summary("overlap", "t9")["arn"]
        TestStartProtectedQueryOperator.expect_start(
            cr_stub,
            {"analysisTemplateArn": arn, "parameters": {"campaign_id": "cmp-42"}},
            {"resultFormat": "CSV", "bucket": "adplan-cleanrooms"},
        )
        operator = TestStartProtectedQueryOperator.operator(
            query_string=None,
            analysis_template_name="overlap",
            parameters={"campaign_id": "cmp-42"},
            wait_for_completion=False,
            deferrable=False,
        )
        assert operator.execute({"ti": MagicMock()}) == QUERY_ID
        assert operator.analysis_template_arn == arn

    def test_name_and_arn_together_are_refused(self):
        with pytest.raises(ValueError, match="exactly one of"):
            TestStartProtectedQueryOperator.operator(
                query_string=None, analysis_template_arn=TEMPLATE_ARN, analysis_template_name="overlap"
            )


# --- the clean_room_collaboration DAG on the aws target -------------------------------------------------

DS = "2026-11-29"
DAG_MEMBERSHIP = "0d0d0d0d-1111-2222-3333-444455556666"


@pytest.fixture(scope="module")
def aws_dag():
    from airflow.dag_processing.dagbag import DagBag

    from adplan.settings import PROJECT_DIR, get_settings

    patch = pytest.MonkeyPatch()
    patch.setenv("ADPLAN_TARGET", "aws")
    patch.setenv("ADPLAN_BUCKET", "acme-lake")
    patch.setenv("ADPLAN_CLEAN_ROOMS_MEMBERSHIP_ID", DAG_MEMBERSHIP)
    patch.setenv("ADPLAN_AWS_CONN_ID", "acme_aws")
    get_settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(PROJECT_DIR / "dags" / "clean_room_collaboration.py"))
        assert bag.import_errors == {}
        yield bag.get_dag("clean_room_collaboration")
    finally:
        patch.undo()
        get_settings.cache_clear()


def render(task, dag, **params):
    """A copy of the task with its templated fields rendered as a run of ``DS`` with ``params`` would."""
    from airflow.sdk.execution_time import macros

    task = copy.deepcopy(task)

    context = {"ds": DS, "params": {**task.params.dump(), **params}, "macros": macros}
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    return task


class TestCleanRoomDagOnAws:
    def test_each_analysis_is_a_deferrable_protected_query_in_our_membership(self, aws_dag):
        from adplan.cleanroom.analyses import ANALYSES

        prepare = aws_dag.get_task("prepare")
        for name in ANALYSES:
            task = aws_dag.get_task(name)
            assert type(task) is CleanRoomsStartProtectedQueryOperator, name
            assert (task.deferrable, task.wait_for_completion) == (True, True)
            assert task.membership_identifier == DAG_MEMBERSHIP
            assert task.result_bucket == "acme-lake"
            assert task.result_format == "PARQUET"
            assert task.compute_configuration is None  # CLEAN_ROOMS_SQL: no Spark workers
            assert task.aws_conn_id == "acme_aws"
            assert task.upstream_task_ids == {prepare.task_id}
            assert [outlet.name for outlet in task.outlets] == [f"cleanroom_results_{name}"]

    @pytest.mark.parametrize(
        "params",
        [{}, {"campaign_id": "CMP7", "segments": ["seg_a", "seg_b"]}],
        ids=["defaults", "campaign-and-segments"],
    )
    def test_sql_analyses_render_the_file_the_local_engine_renders(self, aws_dag, params):
        from adplan import sqlfiles
        from adplan.cleanroom import load_collaboration
        from adplan.cleanroom.analyses import ANALYSES, DEFAULT_PARAMS
        from adplan.cleanroom.checker import QueryChecker

        checker = QueryChecker(load_collaboration())
        for analysis in (a for a in ANALYSES.values() if a.sql):
            task = render(aws_dag.get_task(analysis.name), aws_dag, **params)
            local = sqlfiles.render(analysis.sql, DS, {**DEFAULT_PARAMS, **params}).strip()
            assert task.query_string.strip() == local, analysis.name
            assert task.result_key_prefix == f"cleanrooms/results/dt={DS}/{analysis.name}/"
            # What AWS receives passes the collaboration's rules, as the local engine checks them.
            checker.check(analysis.member or "agency", task.query_string)
        overlap = render(aws_dag.get_task("overlap_by_segment"), aws_dag, **params).query_string
        assert ("c.segment IN ('seg_a', 'seg_b')" in overlap) == bool(params)

    def test_template_analyses_send_the_template_and_its_parameters(self, aws_dag):
        from adplan.cleanroom import load_collaboration
        from adplan.cleanroom.analyses import ANALYSES, render_parameters

        templates = load_collaboration().analysis_templates
        for analysis in (a for a in ANALYSES.values() if a.template):
            task = render(aws_dag.get_task(analysis.name), aws_dag, lookback_days=7, campaign_id="CMP7")
            assert task.query_string is None
            assert task.analysis_template_name == analysis.template
            assert set(task.parameters) == {p.name for p in templates[analysis.template].parameters}
            assert task.parameters == render_parameters(
                analysis, DS, {"lookback_days": 7, "campaign_id": "CMP7"}
            )
            assert task.parameters["start_date"] == "2026-11-22 00:00:00"

    def test_the_rendered_task_starts_the_template_and_defers(self, aws_dag, cr_stub):
        task = render(aws_dag.get_task("conversions_by_creative"), aws_dag)
        cr_stub.add_response(
            "list_analysis_templates",
            {"analysisTemplateSummaries": [template_summary("conversions_by_creative", "c1")]},
            {"membershipIdentifier": DAG_MEMBERSHIP},
        )
        cr_stub.add_response(
            "start_protected_query",
            protected_query("SUBMITTED"),
            {
                "type": "SQL",
                "membershipIdentifier": DAG_MEMBERSHIP,
                "sqlParameters": {
                    "analysisTemplateArn": template_summary("conversions_by_creative", "c1")["arn"],
                    "parameters": {"start_date": "2026-11-01 00:00:00", "campaign_id": ""},
                },
                "resultConfiguration": {
                    "outputConfiguration": {
                        "s3": {
                            "resultFormat": "PARQUET",
                            "bucket": "acme-lake",
                            "keyPrefix": f"cleanrooms/results/dt={DS}/conversions_by_creative/",
                        }
                    }
                },
            },
        )
        with pytest.raises(TaskDeferred) as deferred:
            task.execute({"ti": MagicMock()})
        assert isinstance(deferred.value.trigger, CleanRoomsProtectedQueryCompleteTrigger)

    def test_the_rendered_sql_task_sends_the_query(self, aws_dag, cr_stub):
        task = render(aws_dag.get_task("audience_overlap"), aws_dag)
        cr_stub.add_response(
            "start_protected_query",
            protected_query("SUBMITTED"),
            {
                "type": "SQL",
                "membershipIdentifier": DAG_MEMBERSHIP,
                "sqlParameters": {"queryString": task.query_string},
                "resultConfiguration": {
                    "outputConfiguration": {
                        "s3": {
                            "resultFormat": "PARQUET",
                            "bucket": "acme-lake",
                            "keyPrefix": f"cleanrooms/results/dt={DS}/audience_overlap/",
                        }
                    }
                },
            },
        )
        assert "INNER JOIN publisher_audience p" in task.query_string
        with pytest.raises(TaskDeferred):
            task.execute({"ti": MagicMock()})
