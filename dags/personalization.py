"""Personalized creative: copy variants per segment and channel, checked by guardrails, for review."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Personalized creative

Runs when new segments are published, or from the UI for one campaign.

**generate** writes the creative brief per segment x channel from the media plan brief, the brand
rules and each segment's description (numbers, never people: `include/config/creative.yaml`,
prompts in `include/prompts/`), asks the model for copy variants, and checks every variant against
the guardrails: channel length limits, banned words, required disclaimers, no personal data, no
unsupported superlatives. A failing variant is regenerated with the reasons as feedback a bounded
number of times, then flagged.

On `aws` the model is Bedrock, called per item by the Step Functions state machine
`include/state_machines/creative_generation.asl.json` (retries on throttling, a catch per item);
locally a deterministic generator returns the same Bedrock-shaped responses.

Output: `creatives` (segment, channel, variant, fields, verdict, reasons, status PENDING_REVIEW or
REJECTED) and a review page for approvers at `creative/review/dt=<ds>/review.html`.
"""

b = builders()


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
    },
    **dag_kwargs("creative", "genai"),
)
def personalization():
    b.state_machine_run(
        "generate",
        "creative_generation",
        local_job="creative.generate",
        params={
            "campaign_id": "{{ params.campaign_id }}",
            "segments": "{{ params.segments }}",
            "channels": "{{ params.channels }}",
            "variants": "{{ params.variants }}",
        },
        outlets=[table_asset("creative", "creatives")],
    )


personalization()
