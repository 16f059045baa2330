-- The publisher's configured table cr_publisher_impressions: ad impressions of its logged-in users by
-- hashed email, in the lookback window. A device (else cookie) is mapped to the email most often signed in
-- on it in the identity events; impressions of devices and cookies never signed in are left out.
--
-- Params: lookback_days (default 28), publisher_id (optional).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH events AS (
    SELECT event_id, device_id, cookie_id, lower(email_sha256) AS email_sha256
    FROM {{ inputs.latest_events('curated_identity_events', 'event_id', 'event_id, ts, device_id, cookie_id, email_sha256', 'ts', ds) }} AS e
    WHERE email_sha256 IS NOT NULL AND email_sha256 <> ''
),

device_links AS (
    SELECT identifier, email_sha256
    FROM (
        SELECT device_id AS identifier, email_sha256,
               row_number() OVER (PARTITION BY device_id ORDER BY count(*) DESC, email_sha256) AS link_rank
        FROM events
        WHERE device_id IS NOT NULL AND device_id <> ''
        GROUP BY device_id, email_sha256
    ) AS ranked
    WHERE link_rank = 1
),

cookie_links AS (
    SELECT identifier, email_sha256
    FROM (
        SELECT cookie_id AS identifier, email_sha256,
               row_number() OVER (PARTITION BY cookie_id ORDER BY count(*) DESC, email_sha256) AS link_rank
        FROM events
        WHERE cookie_id IS NOT NULL AND cookie_id <> ''
        GROUP BY cookie_id, email_sha256
    ) AS ranked
    WHERE link_rank = 1
),

impressions AS (
    SELECT impression_id, CAST(ts AS timestamp) AS ts, campaign_id, creative_id, device_id, cookie_id
    FROM {{ inputs.latest_events('curated_ad_impressions', 'impression_id', 'impression_id, ts, campaign_id, creative_id, publisher_id, device_id, cookie_id', 'ts', ds) }} AS i
    WHERE CAST(ts AS timestamp) >= CAST(DATE '{{ ds }}' - INTERVAL '{{ params.lookback_days | default(28) }}' DAY AS timestamp)
    {%- if params.publisher_id %}
      AND publisher_id = '{{ params.publisher_id }}'
    {%- endif %}
)

SELECT
    coalesce(d.email_sha256, c.email_sha256) AS email_sha256,
    CAST(i.campaign_id AS varchar) AS campaign_id,
    CAST(i.creative_id AS varchar) AS creative_id,
    i.ts
FROM impressions AS i
LEFT JOIN device_links AS d ON d.identifier = i.device_id
LEFT JOIN cookie_links AS c ON c.identifier = i.cookie_id
WHERE coalesce(d.email_sha256, c.email_sha256) IS NOT NULL
