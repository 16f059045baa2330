"""Media attribution and budget planning: who earned the conversions, and where next flight's money goes."""

from __future__ import annotations

from airflow.sdk import Param, dag

from adplan.assets import curated, table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.targets import builders

DOC = """
### Media attribution and budget planning

Runs when a new identity graph and ad events are published.

1. **attribute**: touchpoints (impressions and clicks, by channel, campaign, creative, publisher) of
   each person before each conversion within the lookback window (click and view windows separately
   configurable), and the paths of people who did not convert. Models: first touch, last touch, last
   non-direct click, linear, position-based, time decay (SQL in `sql/attribution/`), Markov chain
   removal effects of order 1 to 3 computed exactly, Shapley values, and an incrementality model
   (conversion on exposure, with non-converters, Shapley over the model, bootstrap intervals).
   Writes `attribution_credits`, `attribution_incrementality` and `channel_roas` (ROAS, CPA).
2. **budget**: response curves with diminishing returns per channel, fitted on daily spend, and an
   allocation of the next flight's budget under per-channel bounds, with expected conversions and
   their interval (`budget_recommendation`).

Trigger with `models` (comma-separated, or `all`) and the windows to compare choices in the UI.
"""

b = builders()


@dag(
    dag_id="media_attribution",
    schedule=(table_asset("curated", "identity_graph") & curated("ad_impressions") & curated("spend")),
    doc_md=DOC,
    params={
        "models": Param("all", type="string", description="Attribution models, comma-separated, or 'all'."),
        "lookback_days": Param(30, type="integer", minimum=1, maximum=90),
        "click_window_days": Param(None, type=["null", "integer"], description="Default: the lookback."),
        "view_window_days": Param(None, type=["null", "integer"], description="Default: the lookback."),
        "budget_model": Param(
            "incrementality", type="string", description="Model whose credits fit the curves."
        ),
    },
    **dag_kwargs("attribution", "budget"),
)
def media_attribution():
    attribute = b.job(
        "attribute",
        "attribution.attribute",
        params={
            "models": "{{ params.models }}",
            "lookback_days": "{{ params.lookback_days }}",
            "click_window_days": "{{ params.click_window_days }}",
            "view_window_days": "{{ params.view_window_days }}",
        },
        outlets=[
            table_asset("analytics", "attribution_credits"),
            table_asset("analytics", "attribution_incrementality"),
            table_asset("analytics", "channel_roas"),
        ],
    )
    budget = b.job(
        "budget",
        "attribution.plan_budget",
        params={
            "model": "{{ params.budget_model }}",
            "lookback_days": "{{ params.lookback_days }}",
            "click_window_days": "{{ params.click_window_days }}",
            "view_window_days": "{{ params.view_window_days }}",
        },
        outlets=[table_asset("analytics", "budget_recommendation")],
    )
    attribute >> budget


media_attribution()
