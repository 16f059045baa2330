"""The insights tests' world: a small hand-made lake whose KPIs can be checked by hand (ds = 2026-03-10).

Campaign C1 (advertiser ADV1, a name that tries to inject HTML) on search / PUB1 / CR1:
  2026-03-09: 4 impressions (devices d1, d1, d2, d3), 1 click, billed spend 2.00
  2026-03-10: 2 impressions (d1; unknown device dX with cookie k1), 1 click, billed spend 1.00
Campaign C2 (ADV2) on display / PUB2 / CR2, 2026-03-10: 4 impressions (d4, d4, unknown d9/k9 twice),
  no click, billed spend 4.00.
Late and stale rows that must not count: an impression after ds; an older delivered version of
impression i1 (creative CR_OLD).
Identity graph: d1 and d2 -> P1, d3 -> P2, cookie k1 -> P2, d4 -> P3.
Credits: linear C1/search 2 conversions, value 20; C2/display 1 conversion, value 12;
  last_touch C1/search 1 conversion, value 5.
Media plan: C1/search 2026-03-01..03-20 budget 100 (2,000 impressions); C2/display 03-10..03-11
  budget 8 (400 impressions); C3/social from 04-01 (not started).
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from adplan.attribution.jobs import ROAS_SCHEMA
from adplan.lake import Lake

DS = "2026-03-10"
EVIL_NAME = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)>'


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _impressions(rows: list[tuple]) -> pa.Table:
    names = [
        "impression_id",
        "ts",
        "campaign_id",
        "creative_id",
        "channel",
        "publisher_id",
        "device_id",
        "cookie_id",
    ]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    columns["ts"] = [_ts(t) for t in columns["ts"]]
    columns["cost_micros"] = [500_000] * len(rows)
    return pa.table(columns)


def write_world(
    lake: Lake,
    *,
    credits: bool = True,
    identity: bool = True,
    audiences: bool = False,
    extras: bool = False,
) -> None:
    """Write the world; ``extras`` adds the other use cases' tables so that every dashboard chart draws."""
    cur = "curated"
    lake.write_partition(
        cur,
        "curated_campaigns",
        DS,
        pa.table(
            {
                "campaign_id": ["C1", "C2", "C3"],
                "advertiser_id": ["ADV1", "ADV2", "ADV2"],
                "campaign_name": [EVIL_NAME, "Display push", "Spring social"],
                "objective": ["sales"] * 3,
                "start_date": [date(2026, 3, 1), date(2026, 3, 10), date(2026, 4, 1)],
                "end_date": [date(2026, 3, 20), date(2026, 3, 11), date(2026, 4, 30)],
                "budget": [100.0, 8.0, 50.0],
                "currency": ["USD"] * 3,
                "kpi_target_cpa": [5.0] * 3,
                "kpi_target_roas": [3.0] * 3,
            }
        ),
    )
    lake.write_partition(
        cur,
        "curated_media_plan",
        DS,
        pa.table(
            {
                "campaign_id": ["C1", "C2", "C3"],
                "channel": ["search", "display", "social"],
                "publisher_id": ["PUB1", "PUB2", "PUB3"],
                "start_date": [date(2026, 3, 1), date(2026, 3, 10), date(2026, 4, 1)],
                "end_date": [date(2026, 3, 20), date(2026, 3, 11), date(2026, 4, 30)],
                "planned_budget": [100.0, 8.0, 50.0],
                "planned_impressions": [2000, 400, 1000],
            }
        ),
    )
    c1 = ("C1", "CR1", "search", "PUB1")
    c2 = ("C2", "CR2", "display", "PUB2")
    lake.write_partition(
        cur,
        "curated_ad_impressions",
        DS,
        _impressions(
            [
                ("i1", "2026-03-09 08:00:00", *c1, "d1", None),
                ("i2", "2026-03-09 09:00:00", *c1, "d1", None),
                ("i3", "2026-03-09 10:00:00", *c1, "d2", None),
                ("i4", "2026-03-09 11:00:00", *c1, "d3", None),
                ("i5", "2026-03-10 08:00:00", *c1, "d1", None),
                ("i6", "2026-03-10 23:59:59", *c1, "dX", "k1"),
                ("i7", "2026-03-10 12:00:00", *c2, "d4", None),
                ("i8", "2026-03-10 12:05:00", *c2, "d4", None),
                ("i9", "2026-03-10 13:00:00", *c2, "d9", "k9"),
                ("i10", "2026-03-10 13:30:00", *c2, "d9", "k9"),
                ("i_late", "2026-03-11 00:00:01", *c1, "d1", None),
            ]
        ),
    )
    # an older delivery of i1, superseded by the ds partition
    lake.write_partition(
        cur,
        "curated_ad_impressions",
        "2026-03-09",
        _impressions([("i1", "2026-03-09 08:00:00", "C1", "CR_OLD", "search", "PUB1", "d1", None)]),
    )
    lake.write_partition(
        cur,
        "curated_ad_clicks",
        DS,
        pa.table(
            {
                "click_id": ["k_1", "k_2"],
                "impression_id": ["i2", "i5"],
                "ts": [_ts("2026-03-09 09:00:05"), _ts("2026-03-10 08:00:09")],
                "campaign_id": ["C1", "C1"],
                "creative_id": ["CR1", "CR1"],
                "channel": ["search", "search"],
                "publisher_id": ["PUB1", "PUB1"],
                "device_id": ["d1", "d1"],
                "cookie_id": [None, None],
            }
        ),
    )
    lake.write_partition(
        cur,
        "curated_spend",
        DS,
        pa.table(
            {
                "date": [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 10)],
                "campaign_id": ["C1", "C1", "C2"],
                "channel": ["search", "search", "display"],
                "publisher_id": ["PUB1", "PUB1", "PUB2"],
                "impressions": [4, 2, 4],
                "clicks": [1, 1, 0],
                "spend": [2.0, 1.0, 4.0],
                "currency": ["USD"] * 3,
            }
        ),
    )
    if identity:
        lake.write_partition(
            "analytics",
            "identity_graph",
            DS,
            pa.table(
                {
                    "source": ["ad_devices"] * 4 + ["ad_cookies", "crm_customers", "crm_customers"],
                    "record_id": ["d1", "d2", "d3", "d4", "k1", "C001", "C002"],
                    "person_id": ["P1", "P1", "P2", "P3", "P2", "P1", "P9"],
                    "match_rule": ["Email", "Email", "Email", "Email", "Email", "Email", None],
                    "confidence": [None] * 7,
                },
                schema=pa.schema(
                    [
                        ("source", pa.string()),
                        ("record_id", pa.string()),
                        ("person_id", pa.string()),
                        ("match_rule", pa.string()),
                        ("confidence", pa.float64()),
                    ]
                ),
            ),
        )
    if credits:
        lake.write_partition(
            "analytics",
            "attribution_credits",
            DS,
            pa.table(
                {
                    "model": ["linear", "linear", "last_touch"],
                    "channel": ["search", "display", "search"],
                    "campaign_id": ["C1", "C2", "C1"],
                    "credit_level": ["campaign"] * 3,
                    "conversions": [2.0, 1.0, 1.0],
                    "value": [20.0, 12.0, 5.0],
                    "removal_effect": [None, None, None],
                },
                schema=pa.schema(
                    [
                        ("model", pa.string()),
                        ("channel", pa.string()),
                        ("campaign_id", pa.string()),
                        ("credit_level", pa.string()),
                        ("conversions", pa.float64()),
                        ("value", pa.float64()),
                        ("removal_effect", pa.float64()),
                    ]
                ),
            ),
        )
    if audiences:
        lake.write_partition(
            "analytics",
            "segments",
            DS,
            pa.table(
                {
                    "segment_id": ["loyal", "new"],
                    "segment_name": ["Loyal <b>customers</b>", "New"],
                    "segment_type": ["rule", "rule"],
                    "size": [10, 5],
                    "share_of_profiles": [0.5, 0.25],
                    "consented_for_ads": [8, 4],
                    "avg_order_value": [50.0, 20.0],
                    "avg_ltv": [300.0, 20.0],
                }
            ),
        )
        lake.write_partition(
            "analytics",
            "segment_overlap",
            DS,
            pa.table(
                {
                    "segment_a": ["loyal", "loyal", "new", "new"],
                    "segment_b": ["loyal", "new", "loyal", "new"],
                    "overlap": [10, 2, 2, 5],
                    "size_a": [10, 10, 5, 5],
                    "size_b": [10, 5, 10, 5],
                    "jaccard": [1.0, 2 / 13, 2 / 13, 1.0],
                }
            ),
        )
    if extras:
        write_extras(lake)


def write_extras(lake: Lake) -> None:
    """channel_roas, budget_recommendation, quarantine and hygiene_reconciliation (small, hand-made)."""
    lake.write_partition(
        "analytics",
        "channel_roas",
        DS,
        pa.table(
            {
                "model": ["linear", "linear", "linear", "last_touch"],
                "channel": ["search", "display", "search", "search"],
                "campaign_id": [None, None, "C1", None],
                "spend": [3.0, 4.0, 3.0, 3.0],
                "conversions": [2.0, 1.0, 2.0, 1.0],
                "value": [20.0, 12.0, 20.0, 5.0],
                "roas": [20 / 3, 3.0, 20 / 3, 5 / 3],
                "cpa": [1.5, 4.0, 1.5, 3.0],
            },
            # The attribution job's own schema: the dashboard reads what that job writes.
            schema=ROAS_SCHEMA,
        ),
    )
    lake.write_partition(
        "analytics",
        "budget_recommendation",
        DS,
        pa.table(
            {
                "channel": ["display", "search", "TOTAL"],
                "current_spend": [4.0, 3.0, 7.0],
                "recommended_spend": [2.5, 4.5, 7.0],
                "change": [-1.5, 1.5, 0.0],
                "expected_conversions": [0.8, 2.6, 3.4],
            }
        ),
    )
    lake.write_partition(
        "quarantine",
        "quarantine",
        DS,
        pa.table(
            {
                "source": ["orders", "orders", "crm_customers"],
                "file": ["orders.csv", "orders.csv", "crm.csv"],
                "row": [3, 7, 2],
                "field": ["amount", "email", "phone"],
                "reason": ["out_of_bounds", "bad_pattern", "bad_pattern"],
            }
        ),
    )
    lake.write_partition(
        "quarantine",
        "hygiene_reconciliation",
        DS,
        pa.table(
            {
                "source": ["crm_customers", "orders"],
                "rows_in": [10, 20],
                "accepted": [9, 18],
                "quarantined": [1, 2],
                "rejected_share": [0.1, 0.1],
                "passed": [True, True],
            }
        ),
    )
