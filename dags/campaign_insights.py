"""Campaign insights: KPI marts, pacing against the plan, and the dashboard everyone reads."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Campaign insights

Runs when attribution credits and segments are published.

1. **marts**: `campaign_kpis_daily` (impressions, clicks, CTR, spend, CPM, CPC, conversions, CPA,
   revenue and ROAS by the chosen attribution model, per day, campaign, channel, publisher and
   creative), `campaign_pacing` (spend and impressions against the media plan to date, with a
   projected end-of-flight figure) and `reach_frequency` (`sql/insights/`).
2. **pacing**: lines in flight whose spend to date is off plan by more than the share in
   `include/config/alerts.yaml` (or this run's `pacing_threshold`) are sent to that file's channels
   (task log, SNS, Slack webhook) by `PacingAlertNotifier`; the report is the task's XCom (campaign
   ids and money only).
3. **dashboard**: the static report (`analytics/report/dt=<ds>/report.html`) locally, the QuickSight
   SPICE datasets on aws. The live dashboard is the `adplan insights` page of the Airflow UI.
"""

b = builders()


@dag(
    dag_id="campaign_insights",
    schedule=(table_asset("analytics", "attribution_credits") & table_asset("analytics", "segments")),
    doc_md=DOC,
    params={
        "model": Param("linear", type="string", description="Attribution model behind conversions and ROAS."),
        "pacing_threshold": Param(
            None,
            type=["null", "number"],
            minimum=0,
            description="Share off plan that alerts (empty: pacing.threshold of include/config/alerts.yaml).",
        ),
    },
    **dag_kwargs("insights", "dashboard"),
)
def campaign_insights():
    marts = b.job(
        "marts",
        "insights.build_marts",
        params={"model": "{{ params.model }}"},
        outlets=[
            table_asset("analytics", "campaign_kpis_daily"),
            table_asset("analytics", "campaign_pacing"),
            table_asset("analytics", "reach_frequency"),
        ],
    )
    # In the worker on both targets: the alert goes out through Airflow connections and notifiers.
    pacing = b.worker_job(
        "pacing", "insights.pacing_alerts", params={"threshold": "{{ params.pacing_threshold }}"}
    )
    dashboard = b.dashboard_refresh(
        "dashboard",
        ["campaign_kpis_daily", "campaign_pacing", "reach_frequency"],
        local_job="insights.export_report",
    )
    marts >> [pacing, dashboard]


campaign_insights()
