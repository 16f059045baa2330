"""Audience analysis and activation: profiles, segments, lookalikes and hashed exports for publishers."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Audience analysis, enrichment and activation

Runs when a new identity graph is published.

1. **profiles**: one row per person: recency, frequency, monetary value, lifetime value to date and
   predicted for the next 12 months (BG/NBD + Gamma-Gamma), channel affinity, exposure history,
   consent.
2. **segments**: the declarative segments of `include/config/segments.yaml` (rules over profile
   fields, RFM cells, LTV tiers, the brief's ideal customer) and data-driven clusters, with sizes, an
   overlap matrix and a description of what sets each apart (`segments`, `segment_members`,
   `segment_overlap`).
3. **lookalikes**: a model trained on a seed segment scores publisher audience members on features
   the publisher also holds; ranked with expected reach at each cut (`lookalike_scores`).
4. **activation**: per segment and destination (`include/config/activation.yaml`), files of
   SHA-256 hashed identifiers in each platform's format, chunked to its limits, with a manifest.
   Only people who consented to ads are exported.

Trigger with `segments` to rebuild some segments (comma-separated ids, or `all`).
"""

b = builders()


@dag(
    dag_id="audience_analysis",
    schedule=[table_asset("curated", "identity_graph")],
    doc_md=DOC,
    params={
        "segments": Param(
            "all", type="string", description="Segment ids to (re)build, comma-separated, or 'all'."
        ),
        "seed_segment": Param(
            "high_value_loyal", type="string", description="Seed segment of the lookalike model."
        ),
    },
    **dag_kwargs("audiences"),
)
def audience_analysis():
    profiles = b.job("profiles", "audiences.build_profiles", outlets=[table_asset("analytics", "profiles")])
    segments = b.job(
        "segments",
        "audiences.build_segments",
        params={"segments": "{{ params.segments }}"},
        outlets=[
            table_asset("analytics", "segments"),
            table_asset("analytics", "segment_members"),
            table_asset("analytics", "segment_overlap"),
        ],
    )
    lookalikes = b.job(
        "lookalikes",
        "audiences.score_lookalikes",
        params={"seed_segment": "{{ params.seed_segment }}"},
        outlets=[table_asset("analytics", "lookalike_scores")],
    )
    activation = b.job(
        "activation",
        "audiences.export_activation",
        params={"segments": "{{ params.segments }}"},
        outlets=[table_asset("analytics", "activation_exports")],
    )
    profiles >> segments >> [lookalikes, activation]


audience_analysis()
