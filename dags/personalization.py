"""Personalized creative: copy variants per segment and channel, checked by guardrails, for review."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from adplan.assets import table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Personalized creative

Runs when new segments are published, or from the UI for one campaign.

**prepare** reads each segment's description (numbers, never people), plans every segment x channel x
variant item from the media plan brief and the brand rules (`include/config/creative.yaml`, prompts in
`include/prompts/`) and stores round 1's model requests in the lake
(`creative/rounds/dt=<ds>/round=1/`). Each **round_N** answers the open items; **settle_N** checks every
variant against the guardrails (channel length limits, banned words, required disclaimers, no personal
data, no unsupported superlatives): a pass is finished, a failure is rewritten in the next round with the
reasons as feedback, and flagged on its last attempt (`generation.max_attempts`). Rounds with nothing
left end skipped. **publish** writes every finished variant; variants in = PENDING_REVIEW + REJECTED.

On `aws` the model is Bedrock: the Step Functions machine
`include/state_machines/creative_generation.asl.json` (retries on throttling, a catch per item), one
execution per stored input (inputs are split to fit the 256 KiB payload), or with `mode=batch` a Bedrock
batch inference job (JSONL in and out). Locally a deterministic generator returns the same
Bedrock-shaped responses. XCom carries lake keys and counts only.

Output: `creatives` (segment, channel, variant, fields, verdict, reasons, status PENDING_REVIEW or
REJECTED) and a review page for approvers at `creative/review/dt=<ds>/review.html`.
"""

b = builders()

# Rounds of answer -> settle. Fixed at parse time (a DAG file reads no config); a test checks that
# include/config/creative.yaml's generation.max_attempts never exceeds it, and prepare refuses to run if
# it does.
MAX_ROUNDS = 3


@dag(
    dag_id="personalization",
    schedule=[table_asset("analytics", "segments")],
    doc_md=DOC,
    params={
        "campaign_id": Param(
            "", type="string", description="Campaign of the brief (empty: the brief's own)."
        ),
        "segments": Param("all", type="string", description="Segment ids, comma-separated, or 'all'."),
        "channels": Param("all", type="string", description="Channels, comma-separated, or 'all'."),
        "variants": Param(
            3, type="integer", minimum=1, maximum=10, description="Variants per segment x channel."
        ),
        "mode": Param(
            "state_machine",
            type="string",
            enum=["state_machine", "batch"],
            description="How the model is called: Step Functions (per item) or Bedrock batch inference "
            "(large runs; a round below batch.min_records items uses Step Functions).",
        ),
    },
    **dag_kwargs("creative", "genai"),
)
def personalization():
    @task(multiple_outputs=True)
    def prepare(**context) -> dict[str, Any]:
        """Read the segment descriptions, plan every item and store round 1's requests in the lake."""
        from adplan.creative.jobs import warehouse_segment_reader
        from adplan.creative.rounds import prepare_rounds
        from adplan.run_date import run_date
        from adplan.warehouse import Warehouse

        ds, params = run_date(context), context["params"]
        warehouse = Warehouse.at(None)
        return prepare_rounds(
            ds,
            lake=warehouse.lake,
            segment_rows=warehouse_segment_reader(warehouse)(ds),
            max_rounds=MAX_ROUNDS,
            run_id=context["run_id"],
            campaign_id=params["campaign_id"],
            segments=params["segments"],
            channels=params["channels"],
            variants=int(params["variants"]),
            mode=params["mode"],
        )

    # A round runs only when its plan has items; a settle whose round did not run is skipped too, so
    # the rounds after the last one with work end skipped and publish still runs.
    @task(multiple_outputs=True, trigger_rule="none_failed_min_one_success")
    def settle(round_plan: dict[str, Any] | None, **context) -> dict[str, Any]:
        """Judge the round's answers: keep finished creatives, store the next round's requests."""
        from airflow.exceptions import AirflowSkipException

        from adplan.creative.rounds import settle_round
        from adplan.lake import lake_at
        from adplan.run_date import run_date

        if not round_plan or not round_plan.get("items"):
            raise AirflowSkipException("no round ran")
        return settle_round(run_date(context), round_plan, lake=lake_at(None), max_rounds=MAX_ROUNDS)

    @task(outlets=[table_asset("creative", "creatives")], trigger_rule="none_failed_min_one_success")
    def publish(manifest: str, settled: list[dict[str, Any] | None], **context) -> dict[str, Any]:
        """Write ``creatives`` (PENDING_REVIEW / REJECTED) and the review page; counts must reconcile."""
        from adplan.creative.rounds import publish_round_results
        from adplan.run_date import run_date
        from adplan.warehouse import Warehouse

        return publish_round_results(run_date(context), manifest, settled, warehouse=Warehouse.at(None))

    prepared = prepare()
    plan, settled = prepared, []
    for number in range(1, MAX_ROUNDS + 1):
        answered = b.model_round(
            f"round_{number}", "creative_generation", plan=plan, local_job="creative.answer_round"
        )
        result = settle.override(task_id=f"settle_{number}")(plan)
        answered >> result
        settled.append(result)
        plan = result
    publish(prepared["manifest"], settled)


personalization()
