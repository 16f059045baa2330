"""Entity Resolution: waiter JSON, hook, operator, sensor and trigger against stubbed clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.module_loading import import_string
from botocore.exceptions import WaiterError

from adplan.aws.exceptions import EntityResolutionJobFailedError
from adplan.aws.hooks.entity_resolution import EntityResolutionHook
from adplan.aws.operators.entity_resolution import EntityResolutionStartMatchingJobOperator
from adplan.aws.sensors.entity_resolution import EntityResolutionMatchingJobSensor
from adplan.aws.triggers.entity_resolution import EntityResolutionMatchingJobCompleteTrigger

WORKFLOW = "identity-graph"
JOB_ID = "0123456789abcdef0123456789abcdef"
JOB_PARAMS = {"workflowName": WORKFLOW, "jobId": JOB_ID}
REASON = "Input source table customers_crm has no column email_hash"


def matching_job(status: str, error_message: str | None = None) -> dict:
    """A GetMatchingJob answer in the service's shape."""
    job = {"jobId": JOB_ID, "status": status, "startTime": datetime(2026, 1, 5, tzinfo=UTC)}
    if status == "SUCCEEDED":
        job["metrics"] = {"inputRecords": 10, "totalRecordsProcessed": 10, "matchIDs": 7}
    if error_message:
        job["errorDetails"] = {"errorMessage": error_message}
    return job


@pytest.fixture
def er_stub(stub_hook_client):
    return stub_hook_client(EntityResolutionHook, "entityresolution")


def queue_statuses(stubber, *statuses: str) -> None:
    for status in statuses:
        reason = REASON if status == "FAILED" else None
        stubber.add_response("get_matching_job", matching_job(status, reason), JOB_PARAMS)


class TestMatchingJobCompleteWaiter:
    def wait(self, max_attempts: int) -> None:
        waiter = EntityResolutionHook().get_waiter("matching_job_complete")
        waiter.wait(**JOB_PARAMS, WaiterConfig={"Delay": 0, "MaxAttempts": max_attempts})

    def test_hook_finds_the_waiter_in_adplan_not_in_the_provider(self, er_stub):
        hook = EntityResolutionHook()
        assert hook.waiter_path.is_file()
        assert "adplan" in hook.waiter_path.parts
        assert "matching_job_complete" in hook.list_waiters()

    def test_succeeded_is_success(self, er_stub):
        queue_statuses(er_stub, "SUCCEEDED")
        self.wait(max_attempts=1)

    def test_queued_and_running_retry_until_succeeded(self, er_stub):
        queue_statuses(er_stub, "QUEUED", "RUNNING", "RUNNING", "SUCCEEDED")
        self.wait(max_attempts=5)

    def test_failed_is_a_terminal_failure_that_carries_the_error_message(self, er_stub):
        queue_statuses(er_stub, "RUNNING", "FAILED")
        with pytest.raises(WaiterError, match="terminal failure") as failure:
            self.wait(max_attempts=5)
        assert failure.value.last_response["errorDetails"]["errorMessage"] == REASON

    def test_gives_up_after_max_attempts(self, er_stub):
        queue_statuses(er_stub, "QUEUED", "RUNNING")
        with pytest.raises(WaiterError, match="Max attempts exceeded"):
            self.wait(max_attempts=2)

    def test_sensor_states_match_the_waiter_acceptors(self):
        waiter = json.loads(EntityResolutionHook().waiter_path.read_text())["waiters"][
            "matching_job_complete"
        ]
        by_state = {
            state: {a["expected"] for a in waiter["acceptors"] if a["state"] == state}
            for state in ("retry", "success", "failure")
        }
        assert by_state["retry"] == set(EntityResolutionMatchingJobSensor.INTERMEDIATE_STATES)
        assert by_state["success"] == set(EntityResolutionMatchingJobSensor.SUCCESS_STATES)
        assert by_state["failure"] == set(EntityResolutionMatchingJobSensor.FAILURE_STATES)


class TestEntityResolutionHook:
    def test_get_matching_job_drops_response_metadata(self, er_stub):
        response = {**matching_job("RUNNING"), "ResponseMetadata": {"HTTPStatusCode": 200}}
        er_stub.add_response("get_matching_job", response, JOB_PARAMS)
        job = EntityResolutionHook().get_matching_job(WORKFLOW, JOB_ID)
        assert job["status"] == "RUNNING"
        assert "ResponseMetadata" not in job

    def test_get_output_location_reads_the_workflow_output_source(self, er_stub):
        er_stub.add_response(
            "get_matching_workflow",
            {
                "workflowName": WORKFLOW,
                "workflowArn": f"arn:aws:entityresolution:us-east-1:111122223333:matchingworkflow/{WORKFLOW}",
                "inputSourceConfig": [
                    {
                        "inputSourceARN": "arn:aws:glue:us-east-1:111122223333:table/curated/crm",
                        "schemaName": "crm",
                    }
                ],
                "outputSourceConfig": [
                    {
                        "outputS3Path": "s3://adplan-lake/analytics/identity/",
                        "output": [{"name": "email_hash"}],
                    }
                ],
                "resolutionTechniques": {"resolutionType": "RULE_MATCHING"},
                "createdAt": datetime(2026, 1, 1, tzinfo=UTC),
                "updatedAt": datetime(2026, 1, 1, tzinfo=UTC),
                "roleArn": "arn:aws:iam::111122223333:role/adplan-er",
            },
            {"workflowName": WORKFLOW},
        )
        assert EntityResolutionHook().get_output_location(WORKFLOW) == "s3://adplan-lake/analytics/identity/"

    def test_wait_raises_the_service_error_message(self, er_stub):
        queue_statuses(er_stub, "FAILED")
        with pytest.raises(EntityResolutionJobFailedError, match=REASON) as failure:
            EntityResolutionHook().wait_for_matching_job(
                WORKFLOW, JOB_ID, waiter_delay=0, waiter_max_attempts=3
            )
        assert JOB_ID in str(failure.value)

    def test_wait_gives_up_after_max_attempts(self, er_stub):
        queue_statuses(er_stub, "RUNNING", "RUNNING")
        with pytest.raises(WaiterMaxAttemptsError):
            EntityResolutionHook().wait_for_matching_job(
                WORKFLOW, JOB_ID, waiter_delay=0, waiter_max_attempts=2
            )


class TestStartMatchingJobOperator:
    @staticmethod
    def operator(**kwargs) -> EntityResolutionStartMatchingJobOperator:
        return EntityResolutionStartMatchingJobOperator(
            task_id="resolve_identities", workflow_name=WORKFLOW, waiter_delay=0, **kwargs
        )

    @pytest.fixture
    def started(self, er_stub):
        er_stub.add_response("start_matching_job", {"jobId": JOB_ID}, {"workflowName": WORKFLOW})
        return er_stub

    def test_workflow_name_is_templated(self):
        assert "workflow_name" in EntityResolutionStartMatchingJobOperator.template_fields

    def test_no_wait_returns_the_job_id_without_polling(self, started):
        # The stubber has no GetMatchingJob answer queued: a poll would raise.
        assert self.operator(wait_for_completion=False, deferrable=False).execute({}) == JOB_ID

    def test_wait_polls_until_succeeded(self, started):
        queue_statuses(started, "QUEUED", "RUNNING", "SUCCEEDED")
        assert self.operator(deferrable=False).execute({}) == JOB_ID

    def test_wait_fails_with_the_service_error_message(self, started):
        queue_statuses(started, "RUNNING", "FAILED")
        with pytest.raises(EntityResolutionJobFailedError, match=REASON):
            self.operator(deferrable=False).execute({})

    def test_deferrable_defers_to_the_matching_job_trigger(self, started):
        operator = self.operator(
            deferrable=True, waiter_max_attempts=7, aws_conn_id="er_conn", region_name="eu-west-1"
        )
        with pytest.raises(TaskDeferred) as deferred:
            operator.execute({})
        trigger = deferred.value.trigger
        assert isinstance(trigger, EntityResolutionMatchingJobCompleteTrigger)
        assert deferred.value.method_name == "execute_complete"
        _, kwargs = trigger.serialize()
        assert kwargs["workflow_name"] == WORKFLOW
        assert kwargs["job_id"] == JOB_ID
        assert kwargs["waiter_max_attempts"] == 7
        assert kwargs["aws_conn_id"] == "er_conn"
        assert kwargs["region_name"] == "eu-west-1"

    def test_execute_complete_returns_the_job_id_on_success(self):
        assert self.operator().execute_complete({}, {"status": "success", "job_id": JOB_ID}) == JOB_ID

    def test_execute_complete_raises_the_trigger_message_on_failure(self):
        event = {"status": "error", "message": f"matching job {JOB_ID} FAILED: {REASON}", "job_id": JOB_ID}
        with pytest.raises(EntityResolutionJobFailedError, match=REASON):
            self.operator().execute_complete({}, event)


class TestMatchingJobSensor:
    @staticmethod
    def sensor(**kwargs) -> EntityResolutionMatchingJobSensor:
        return EntityResolutionMatchingJobSensor(
            task_id="wait_for_identities", workflow_name=WORKFLOW, job_id=JOB_ID, **kwargs
        )

    @pytest.mark.parametrize(("status", "done"), [("QUEUED", False), ("RUNNING", False), ("SUCCEEDED", True)])
    def test_poke(self, er_stub, status, done):
        queue_statuses(er_stub, status)
        assert self.sensor().poke({}) is done

    def test_poke_raises_the_service_error_message_when_failed(self, er_stub):
        queue_statuses(er_stub, "FAILED")
        with pytest.raises(EntityResolutionJobFailedError, match=REASON):
            self.sensor().poke({})

    def test_deferrable_defers_with_poke_interval_and_max_retries(self):
        with pytest.raises(TaskDeferred) as deferred:
            self.sensor(deferrable=True, poke_interval=15, max_retries=4).execute({})
        trigger = deferred.value.trigger
        assert isinstance(trigger, EntityResolutionMatchingJobCompleteTrigger)
        assert (trigger.waiter_delay, trigger.attempts) == (15, 4)
        assert deferred.value.method_name == "execute_complete"

    def test_execute_complete(self):
        self.sensor().execute_complete({}, {"status": "success", "job_id": JOB_ID})
        with pytest.raises(EntityResolutionJobFailedError, match=REASON):
            self.sensor().execute_complete({}, {"status": "error", "message": REASON, "job_id": JOB_ID})


class TestMatchingJobCompleteTrigger:
    @staticmethod
    def trigger(**kwargs) -> EntityResolutionMatchingJobCompleteTrigger:
        return EntityResolutionMatchingJobCompleteTrigger(
            workflow_name=WORKFLOW, job_id=JOB_ID, waiter_delay=0, aws_conn_id=None, **kwargs
        )

    @staticmethod
    def responses(*statuses: str) -> list[tuple[str, dict, dict]]:
        return [
            ("get_matching_job", matching_job(s, REASON if s == "FAILED" else None), JOB_PARAMS)
            for s in statuses
        ]

    def test_serialize_round_trip(self):
        trigger = self.trigger(
            waiter_max_attempts=5, region_name="eu-west-1", botocore_config={"retries": {}}
        )
        classpath, kwargs = trigger.serialize()
        assert classpath == "adplan.aws.triggers.entity_resolution.EntityResolutionMatchingJobCompleteTrigger"
        assert kwargs["workflow_name"] == WORKFLOW
        assert kwargs["job_id"] == JOB_ID
        rebuilt = import_string(classpath)(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)

    def test_run_yields_success_after_retries(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=5)
        events = run_trigger(trigger, "entityresolution", self.responses("QUEUED", "RUNNING", "SUCCEEDED"))
        assert [event.payload for event in events] == [{"status": "success", "job_id": JOB_ID}]

    def test_run_yields_error_with_the_service_error_message(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=5)
        [event] = run_trigger(trigger, "entityresolution", self.responses("RUNNING", "FAILED"))
        assert event.payload["status"] == "error"
        assert event.payload["job_id"] == JOB_ID
        assert REASON in event.payload["message"]

    def test_run_yields_error_after_max_attempts(self, run_trigger):
        trigger = self.trigger(waiter_max_attempts=2)
        [event] = run_trigger(trigger, "entityresolution", self.responses("RUNNING", "RUNNING"))
        assert event.payload["status"] == "error"
        assert "max attempts" in event.payload["message"]
