-- The advertiser's configured table cr_advertiser_conversions: its orders in the lookback window by hashed
-- email, with the creative of the last ad click the advertiser saw from the same person (click-through
-- UTM data, resolved through the identity graph) in the attribution window before the order, if any.
--
-- Params: lookback_days (default 28), click_window_days (default 7).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH orders AS (
    SELECT order_id, lower(email_sha256) AS email_sha256, CAST(order_ts AS timestamp) AS order_ts,
           CAST(order_value AS double) AS order_value
    FROM {{ inputs.latest_events('curated_orders', 'order_id', 'order_id, email_sha256, order_ts, order_value', 'order_ts', ds) }} AS o
    WHERE email_sha256 IS NOT NULL
      AND CAST(order_ts AS timestamp) >= CAST(DATE '{{ ds }}' - INTERVAL '{{ params.lookback_days | default(28) }}' DAY AS timestamp)
),

graph AS (
    SELECT source, record_id, person_id FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
),

order_people AS (
    SELECT o.order_id, min(g.person_id) AS person_id
    FROM orders AS o JOIN graph AS g ON g.source = 'orders' AND g.record_id = o.order_id
    GROUP BY o.order_id
),

clicks AS (
    SELECT coalesce(gd.person_id, gc.person_id) AS person_id, CAST(k.ts AS timestamp) AS ts, k.creative_id
    FROM {{ inputs.latest_events('curated_ad_clicks', 'click_id', 'click_id, ts, creative_id, device_id, cookie_id', 'ts', ds) }} AS k
    LEFT JOIN graph AS gd ON gd.source = 'ad_devices' AND gd.record_id = k.device_id
    LEFT JOIN graph AS gc ON gc.source = 'ad_cookies' AND gc.record_id = k.cookie_id
),

last_click AS (
    SELECT order_id, creative_id
    FROM (
        SELECT op.order_id, k.creative_id,
               row_number() OVER (PARTITION BY op.order_id ORDER BY k.ts DESC, k.creative_id) AS click_rank
        FROM order_people AS op
        JOIN orders AS o ON o.order_id = op.order_id
        JOIN clicks AS k ON k.person_id = op.person_id
        WHERE k.ts <= o.order_ts
          AND k.ts >= o.order_ts - INTERVAL '{{ params.click_window_days | default(7) }}' DAY
    ) AS ranked
    WHERE click_rank = 1
)

SELECT
    o.email_sha256,
    o.order_ts AS conversion_ts,
    CAST(lc.creative_id AS varchar) AS creative_id,
    o.order_value AS value
FROM orders AS o
LEFT JOIN last_click AS lc ON lc.order_id = o.order_id
