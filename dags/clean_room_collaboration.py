"""Clean-room collaboration: advertiser and publisher meet where only approved, aggregated answers leave."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import curated, table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Clean-room collaboration

Runs when a new identity graph and publisher audience are published, and on the segments.

1. **prepare**: each member's configured tables (`include/config/collaboration.yaml`, in the shape
   of AWS Clean Rooms' configured tables and `AnalysisRulePolicy`): hashed identifiers only.
2. **analyses**: the standard agency analyses as protected queries (`sql/cleanroom/analyses/`):
   audience overlap on hashed identifiers, overlap by segment, reach and frequency of a campaign's
   impressions among the advertiser's customers, conversions of exposed vs unexposed customers by
   creative, and enrichment of a segment with publisher interests through a LIST rule. Each query is
   checked against every table's analysis rule; a refused query fails with the service's error code
   and message and returns nothing; output rows below the aggregation threshold are dropped.

Results: `cleanroom_results_<analysis>`. **segment_enrichment** describes each advertiser segment
by the publisher's interests through the LIST rule (`segment_enrichment`), never pulling publisher
rows out. The conversions analysis runs the collaboration's differentially private analysis
template, which spends privacy budget on every run.
"""

ANALYSES = ("audience_overlap", "overlap_by_segment", "reach_frequency", "conversions", "enrichment")

b = builders()


@dag(
    dag_id="clean_room_collaboration",
    schedule=(
        table_asset("curated", "identity_graph")
        & curated("publisher_audience")
        & table_asset("analytics", "segments")
    ),
    doc_md=DOC,
    params={
        "analyses": Param("all", type="string", description="Analyses to run, comma-separated, or 'all'."),
        "member": Param("agency", enum=["agency", "advertiser"], description="The querying member."),
    },
    **dag_kwargs("cleanroom"),
)
def clean_room_collaboration():
    prepare = b.job("prepare", "cleanroom.prepare_tables")
    analyses = b.job(
        "analyses",
        "cleanroom.run_analyses",
        params={"analyses": "{{ params.analyses }}", "member": "{{ params.member }}"},
        outlets=[table_asset("cleanrooms", f"cleanroom_results_{name}") for name in ANALYSES],
    )
    enrichment = b.job(
        "segment_enrichment",
        "audiences.enrich_segments",
        outlets=[table_asset("analytics", "segment_enrichment")],
    )
    prepare >> [analyses, enrichment]


clean_room_collaboration()
