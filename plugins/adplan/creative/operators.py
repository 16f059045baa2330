"""The aws target's Step Functions tasks for a creative round, with the round's files in the lake.

The provider's ``StepFunctionStartExecutionOperator`` takes its input as a (templated) argument and the
``StepFunctionExecutionSensor`` pushes the whole execution output to XCom. An execution's input and
output are up to 256 KiB of prompts and copy each, which do not belong in XCom (nor in the rendered
template fields stored in the metadata database). These subclasses keep the provider's behaviour and move
only the payloads: the start operator reads the input from the lake key it is given, and the sensor stores
the output beside it (``adplan.creative.rounds.output_key``). XCom carries ARNs and lake keys.

Imported only by the aws task builder (``AwsBuilders.model_round``), never at DAG parse time on local.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.operators.step_function import StepFunctionStartExecutionOperator
from airflow.providers.amazon.aws.sensors.step_function import StepFunctionExecutionSensor
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk import PokeReturnValue

from adplan.creative.rounds import output_key, read_json, write_json

MAX_EXECUTION_NAME = 80


def execution_name(run_id: str, input_key: str, try_number: int) -> str:
    """A unique, valid execution name for one round input of one run and try (at most 80 characters).

    Step Functions keeps names for 90 days; the try number makes a task retry start a new execution
    instead of failing with ExecutionAlreadyExists.
    """
    digest = hashlib.sha256(f"{run_id}|{input_key}".encode()).hexdigest()[:16]
    parts = input_key.split("/")
    where = "-".join(part.replace("=", "") for part in parts[-4:-1])  # dt..., round..., execution-NNN
    return f"adplan-creative-{where}-{digest}-t{try_number}"[-MAX_EXECUTION_NAME:].lstrip("-")


def _lake(location: str | None) -> Any:
    from adplan.lake import lake_at

    return lake_at(location)


class CreativeRoundStartExecutionOperator(StepFunctionStartExecutionOperator):
    """Start one execution of the creative machine with the input stored at ``input_key`` in the lake.

    Returns ``{"execution_arn", "input_key"}`` (what the sensor expands over).
    """

    template_fields: Sequence[str] = (*StepFunctionStartExecutionOperator.template_fields, "input_key")

    def __init__(self, *, input_key: str, lake_location: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", False)
        super().__init__(**kwargs)
        self.input_key = input_key
        self.lake_location = lake_location

    def execute(self, context: Any) -> dict[str, str]:
        ti = context["ti"]
        self.state_machine_input = json.dumps(read_json(_lake(self.lake_location), self.input_key))
        if not self.name:
            self.name = execution_name(context["run_id"], self.input_key, int(ti.try_number or 1))
        execution_arn = super().execute(context)
        return {"execution_arn": execution_arn, "input_key": self.input_key}


class CreativeRoundExecutionSensor(StepFunctionExecutionSensor):
    """Wait for an execution; on success store its output beside its input in the lake.

    Returns the output's lake key. A failed execution fails the task with its error and cause (the
    machine catches every Bedrock error per item, so this means the machine itself failed).
    """

    template_fields: Sequence[str] = (*StepFunctionExecutionSensor.template_fields, "input_key")

    def __init__(self, *, execution_arn: str, input_key: str, lake_location: str | None = None, **kwargs):
        super().__init__(execution_arn=execution_arn, **kwargs)
        self.input_key = input_key
        self.lake_location = lake_location

    def poke(self, context: Any) -> bool | PokeReturnValue:
        execution = self.hook.describe_execution(self.execution_arn)
        state = execution["status"]
        if state in self.FAILURE_STATES:
            raise AirflowException(
                f"execution {self.execution_arn} ended {state}: "
                f"{execution.get('error', '')} {execution.get('cause', '')}".strip()
            )
        if state in self.INTERMEDIATE_STATES or "output" not in execution:
            return False
        key = output_key(self.input_key)
        write_json(_lake(self.lake_location), key, json.loads(execution["output"]))
        self.log.info("Execution %s succeeded; output stored at %s", self.execution_arn, key)
        return PokeReturnValue(is_done=True, xcom_value=key)
