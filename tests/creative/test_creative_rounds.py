"""The personalization DAG's rounds: prepare -> answer -> settle (bounded retries) -> publish, and its shape.

Rounds run on a local lake with the local generator's real Bedrock-shaped responses, with failures mixed
in the way the state machine reports them (an error entry from its Catch, a Bedrock guardrail
intervention, copy that breaks a guardrail). The aws task classes are checked in
test_creative_round_operators.py.
"""

from __future__ import annotations

import copy
import importlib.util
import json

import duckdb
import pytest

from adplan.creative.generator import LocalGenerator
from adplan.creative.review import read_creatives
from adplan.creative.rounds import (
    BATCH,
    RoundBoundError,
    answer_round_locally,
    local_execution_output,
    output_key,
    prepare_rounds,
    publish_round_results,
    read_json,
    settle_round,
    write_json,
)
from adplan.lake import Lake
from adplan.settings import PROJECT_DIR, get_settings
from adplan.warehouse import Warehouse

DS = "2026-11-28"
DAG_FILE = PROJECT_DIR / "dags" / "personalization.py"
MAX_ROUNDS = 3


@pytest.fixture
def warehouse(tmp_path):
    return Warehouse(Lake(tmp_path / "lake"), tmp_path / "warehouse.duckdb")


def prepared(warehouse, config, segment_rows, **params):
    return prepare_rounds(
        DS,
        lake=warehouse.lake,
        segment_rows=segment_rows,
        max_rounds=MAX_ROUNDS,
        run_id="manual__2026-11-28T00:00:00+00:00",
        config=config,
        **params,
    )


def no_copy_in(value, config):
    """XCom values hold keys and counts: no copy, no prompts, no segment facts."""
    flat = json.dumps(value)
    for text in (config.brief.product, config.brief.offer, "trail running", "Loyal trail runners"):
        assert text not in flat, text


# --- the DAG -------------------------------------------------------------------------------------------


def load_dag(monkeypatch, target: str):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("ADPLAN_TARGET", target)
    get_settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(DAG_FILE))
    finally:
        get_settings.cache_clear()
    assert bag.import_errors == {}
    return bag.dags["personalization"]


def test_the_config_never_exceeds_the_dags_round_bound(config):
    spec = importlib.util.spec_from_file_location("personalization_dag_file", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert config.generation.max_attempts <= module.MAX_ROUNDS


def test_the_aws_dag_runs_bounded_rounds_of_step_functions_or_batch(monkeypatch):
    dag = load_dag(monkeypatch, "aws")
    tasks = {task.task_id: task for task in dag.tasks}
    rounds = sorted({task_id.split(".")[0] for task_id in tasks if task_id.startswith("round_")})
    assert rounds == ["round_1", "round_2", "round_3"]
    kinds = {task_id: getattr(task, "operator_class", type(task)) for task_id, task in tasks.items()}
    names = {task_id: getattr(kind, "__name__", str(kind)) for task_id, kind in kinds.items()}
    for number, source in ((1, "prepare"), (2, "settle_1"), (3, "settle_2")):
        group = f"round_{number}"
        assert names[f"{group}.execution_start"] == "CreativeRoundStartExecutionOperator"
        assert names[f"{group}.execution_wait"] == "CreativeRoundExecutionSensor"
        assert names[f"{group}.batch_start"] == "BedrockBatchInferenceOperator"
        assert names[f"{group}.batch_wait"] == "BedrockBatchInferenceSensor"
        assert tasks[f"{group}.execution_start"].is_mapped and tasks[f"{group}.execution_wait"].is_mapped
        assert tasks[f"{group}.choose"].upstream_task_ids == {source}
        assert tasks[f"{group}.execution_inputs"].upstream_task_ids == {source, f"{group}.choose"}
        assert tasks[f"{group}.execution_start"].upstream_task_ids == {f"{group}.execution_inputs"}
        assert tasks[f"{group}.execution_wait"].upstream_task_ids == {f"{group}.execution_start"}
        assert tasks[f"{group}.batch_wait"].upstream_task_ids == {f"{group}.batch_start"}
        settle = tasks[f"settle_{number}"]
        assert settle.upstream_task_ids == {source, f"{group}.execution_wait", f"{group}.batch_wait"}
        # Runs after whichever path the round took; skips itself when its round had nothing to do.
        assert settle.trigger_rule == "none_failed_min_one_success"
    publish = tasks["publish"]
    assert publish.upstream_task_ids == {"prepare", "settle_1", "settle_2", "settle_3"}
    assert publish.trigger_rule == "none_failed_min_one_success"
    assert len(publish.outlets) == 1 and "creatives" in publish.outlets[0].name
    assert "mode" in dag.params and dag.params["mode"] == "state_machine"


def test_the_local_dag_has_the_same_rounds_answered_in_the_worker(monkeypatch):
    dag = load_dag(monkeypatch, "local")
    tasks = {task.task_id: task for task in dag.tasks}
    assert set(tasks) == {
        "prepare",
        "round_1",
        "settle_1",
        "round_2",
        "settle_2",
        "round_3",
        "settle_3",
        "publish",
    }
    assert tasks["round_2"].upstream_task_ids == {"settle_1"}
    assert tasks["settle_2"].upstream_task_ids == {"round_2", "settle_1"}
    assert tasks["publish"].upstream_task_ids == {"prepare", "settle_1", "settle_2", "settle_3"}


# --- rounds end to end ---------------------------------------------------------------------------------


def fail_some(output, config, *, errors=(), intervened=(), breaking=()):
    """The machine's output with some items failing the ways it reports failures."""
    output = copy.deepcopy(output)
    for result in output["results"]:
        if result["key"] in errors:
            del result["response"]
            result["error"] = {"Error": "Bedrock.ValidationException", "Cause": "malformed input"}
        elif result["key"] in intervened:
            result["response"] = {
                **result["response"],
                "amazon-bedrock-guardrailAction": "INTERVENED",
                "content": [{"type": "text", "text": "Sorry, the model cannot answer that."}],
            }
        elif result["key"] in breaking:
            fields = json.loads(result["response"]["content"][0]["text"])
            first = next(iter(fields))
            fields[first] = f"The {config.brand_rules.banned_words[0]} {fields[first]}"
            result["response"]["content"][0]["text"] = json.dumps(fields)
    return output


def answer_with(lake, config, plan, **failures):
    generator = LocalGenerator(config)
    for key in plan["inputs"]:
        output = local_execution_output(generator, read_json(lake, key))
        write_json(lake, output_key(key), fail_some(output, config, **failures))


def test_rounds_retry_failures_a_bounded_number_of_times_and_reconcile(config, warehouse, segment_rows):
    lake = warehouse.lake
    plan = prepared(warehouse, config, segment_rows, segments="seg_new,seg_loyal", channels="search,email")
    assert (plan["round"], plan["mode"], plan["items"], plan["planned"]) == (1, "state_machine", 12, 12)
    assert plan["inputs"] == [f"creative/rounds/dt={DS}/round=1/execution-000/input.json"]
    no_copy_in(plan, config)
    first = read_json(lake, plan["inputs"][0])
    assert (
        first["round"] == 1
        and len(first["items"]) == 12
        and first["model"]["model_id"] == config.model.model_id
    )

    keys = [item["key"] for item in first["items"]]
    always_failing = keys[0]
    failures = {"errors": {always_failing, keys[1]}, "intervened": {keys[2]}, "breaking": {keys[3]}}
    settled, answered = [], plan
    while answered["items"]:
        answer_with(lake, config, answered, **failures)
        result = settle_round(DS, answered, lake=lake, max_rounds=MAX_ROUNDS, config=config)
        no_copy_in(result, config)
        assert result["passed"] + result["rejected"] + result["retrying"] == answered["items"]
        settled.append(result)
        # Only the permanently failing item fails again after the first round.
        failures = {"errors": {always_failing}}
        answered = result
    assert len(settled) == MAX_ROUNDS
    assert settled[0]["errors"] == 3  # two error entries and one guardrail intervention
    retried = {item["key"]: item for item in read_json(lake, settled[0]["inputs"][0])["items"]}
    assert set(keys[:4]) <= set(retried)
    assert all(item["attempt"] == 2 for item in retried.values())
    # A failed answer goes back with the guardrail reasons; a missing answer is asked again as it was.
    assert len(retried[keys[3]]["messages"]) == 3 and len(retried[keys[0]]["messages"]) == 1
    assert settled[-1]["items"] == 0 and settled[-1]["rejected"] >= 1

    summary = publish_round_results(DS, plan["manifest"], [*settled], warehouse=warehouse, config=config)
    with duckdb.connect() as con:
        rows = read_creatives(con, lake.partition_file("creative", "creatives", DS))
    by_key = {row["creative_key"]: row for row in rows}
    assert len(rows) == summary["variants"] == 12
    assert summary["passed"] + summary["rejected"] == 12
    assert {row["status"] for row in rows} <= {"PENDING_REVIEW", "REJECTED"}
    failed = by_key[always_failing]
    assert (failed["status"], failed["attempts"], failed["verdict"]) == ("REJECTED", 3, "FAIL")
    assert "model_error" in failed["reasons"]
    assert all(row["attempts"] <= config.generation.max_attempts for row in rows)
    assert by_key[keys[1]]["attempts"] >= 2 and by_key[keys[3]]["attempts"] >= 2
    assert (lake.root / "creative" / "review" / f"dt={DS}" / "review.html").is_file()
    no_copy_in(summary, config)


def test_later_rounds_are_skipped_when_nothing_is_left(config, warehouse, segment_rows):
    plan = prepared(warehouse, config, segment_rows, segments="seg_vip", channels="email", variants=1)
    answer_round_locally(plan, lake=warehouse.lake, config=config)
    result = settle_round(DS, plan, lake=warehouse.lake, max_rounds=MAX_ROUNDS, config=config)
    settled = [result]
    while result["items"]:
        answer_round_locally(result, lake=warehouse.lake, config=config)
        result = settle_round(DS, result, lake=warehouse.lake, max_rounds=MAX_ROUNDS, config=config)
        settled.append(result)
    # Rounds that did not run reach publish as None (a skipped task's XCom).
    settled += [None] * (MAX_ROUNDS - len(settled))
    summary = publish_round_results(DS, plan["manifest"], settled, warehouse=warehouse, config=config)
    assert summary["variants"] == 1 and summary["rounds"] == len([s for s in settled if s])


def test_batch_mode_writes_jsonl_and_small_rounds_fall_back_to_the_state_machine(
    config_with, warehouse, segment_rows
):
    config = config_with("batch", min_records=10, role_arn="arn:aws:iam::123456789012:role/adplan-batch")
    lake = warehouse.lake
    plan = prepared(warehouse, config, segment_rows, mode=BATCH)
    assert plan["mode"] == BATCH and plan["inputs"] == [] and plan["items"] == 48
    assert plan["batch_input_uri"] == str(
        lake.root / f"creative/rounds/dt={DS}/round=1/batch/input/records.jsonl"
    )
    assert plan["batch_job_name"].startswith(f"adplan-creative-{DS}-r1-")
    records = (lake.root / lake.relative(plan["batch_input_uri"])).read_text().splitlines()
    assert len(records) == 48 and set(json.loads(records[0])) == {"recordId", "modelInput"}
    no_copy_in(plan, config)

    answer_round_locally(plan, lake=lake, config=config)
    result = settle_round(DS, plan, lake=lake, max_rounds=MAX_ROUNDS, config=config)
    settled = [result]
    assert result["answered"] == 48
    while result["items"]:
        # Retry rounds below min_records go through the state machine; large ones stay in batch.
        assert result["mode"] == (BATCH if result["items"] >= 10 else "state_machine")
        answer_round_locally(result, lake=lake, config=config)
        result = settle_round(DS, result, lake=lake, max_rounds=MAX_ROUNDS, config=config)
        settled.append(result)
    summary = publish_round_results(DS, plan["manifest"], settled, warehouse=warehouse, config=config)
    assert summary["variants"] == 48 and summary["passed"] + summary["rejected"] == 48


def test_more_attempts_than_rounds_is_refused_before_any_work(config_with, warehouse, segment_rows):
    config = config_with("generation", max_attempts=MAX_ROUNDS + 1)
    with pytest.raises(RoundBoundError, match="MAX_ROUNDS"):
        prepared(warehouse, config, segment_rows)
    assert not (warehouse.lake.root / "creative").exists()


def test_publish_refuses_counts_that_do_not_reconcile(config, warehouse, segment_rows):
    from adplan.creative.rounds import ReconciliationError

    plan = prepared(warehouse, config, segment_rows, segments="seg_new", channels="search")
    answer_round_locally(plan, lake=warehouse.lake, config=config)
    result = settle_round(DS, plan, lake=warehouse.lake, max_rounds=MAX_ROUNDS, config=config)
    rows = read_json(warehouse.lake, result["finished"])
    write_json(warehouse.lake, result["finished"], rows[1:])  # a variant lost
    with pytest.raises(ReconciliationError):
        publish_round_results(
            DS, plan["manifest"], [{**result, "items": 0}], warehouse=warehouse, config=config
        )
