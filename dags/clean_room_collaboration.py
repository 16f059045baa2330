"""Clean-room collaboration: advertiser and publisher meet where only approved, aggregated answers leave."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import curated, table_asset
from adplan.cleanroom.analyses import ANALYSES
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Clean-room collaboration

Runs when a new identity graph and publisher audience are published, and on the segments.

1. **prepare**: each member's configured tables (`include/config/collaboration.yaml`, in the shape
   of AWS Clean Rooms' configured tables and `AnalysisRulePolicy`): hashed identifiers only.
2. **one protected query per analysis** (`adplan.cleanroom.analyses`): audience overlap on hashed
   identifiers, overlap by segment, reach and frequency of a campaign's impressions among the
   advertiser's customers (SQL files in `sql/cleanroom/analyses/`), conversions by campaign
   (differentially private template, spends privacy budget on every run), conversions of exposed vs
   unexposed customers by creative (template), and enrichment of a segment with publisher interests
   through a LIST rule (run by the advertiser). Each query is checked against every table's analysis
   rule; a refused query fails with the service's error code and message and returns nothing; output
   rows below the aggregation threshold are dropped. On `aws` each is a Clean Rooms
   `StartProtectedQuery` (deferrable) in this deployment's membership, rendered from the same file or
   template; on `local` the same analysis runs on the local engine.

Results: `cleanrooms/results/dt=<ds>/<analysis>/` as the service writes them, and (local)
`cleanroom_results_<analysis>`. **segment_enrichment** then describes each advertiser segment by the
publisher's interests from the `enrichment` query's result (the LIST rule's rows, read where the query
reported it wrote them), never pulling publisher rows out.

Params: `lookback_days` (conversion window), `campaign_id` (one campaign, or all), `segments`
(advertiser segments for overlap and enrichment, or all).
"""

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
        "lookback_days": Param(28, type="integer", minimum=1, description="Conversion window, in days."),
        "campaign_id": Param("", type="string", description="One campaign, or empty for all."),
        "segments": Param([], type="array", description="Advertiser segments, or empty for all."),
    },
    **dag_kwargs("cleanroom"),
)
def clean_room_collaboration():
    prepare = b.job("prepare", "cleanroom.prepare_tables")
    analyses = [
        b.protected_query(
            name,
            name,
            member="agency",
            result_format="PARQUET",
            outlets=[table_asset("cleanrooms", f"cleanroom_results_{name}")],
        )
        for name in ANALYSES
    ]
    # Summarizes the rows the `enrichment` analysis's protected query wrote (the list rule's output).
    segment_enrichment = b.job(
        "segment_enrichment",
        "audiences.enrich_segments",
        params={"result_location": "{{ ti.xcom_pull(task_ids='enrichment', key='result_location') }}"},
        outlets=[table_asset("analytics", "segment_enrichment")],
    )
    prepare >> analyses
    analyses[list(ANALYSES).index("enrichment")] >> segment_enrichment


clean_room_collaboration()
