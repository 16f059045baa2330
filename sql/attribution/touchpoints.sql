-- Touchpoints: ad impressions and clicks, each with the person the identity graph links its device
-- (source ad_devices) or, failing that, its cookie (source ad_cookies) to. The input of journeys.sql.
--
-- One row per touchpoint: person_id, ts, channel, campaign_id, creative_id, publisher_id, event_type
-- ('impression' or 'click'), touchpoint_id (the impression or click id). No device or cookie ids.
--   * A clicked impression is one touch, the click (at the click's time): an impression and its click
--     are the same ad exposure, so it counts once (params.clicks_replace_impressions, default true).
--   * Events are read from every partition up to ds, keeping the latest delivered version of each id,
--     so a nightly delivery of new events and a full snapshot give the same touchpoints. Events after
--     the end of ds are ignored. The identity graph is read at its latest partition on or before ds.
--   * Events whose device and cookie the graph does not know have no person: they are dropped, unless
--     params.keep_unresolved (person_id NULL then; the job counts them).
--
-- Params (all optional): history_days (only events in the history_days before the end of ds; a
-- delivery never precedes its events, so older partitions are pruned too), keep_unresolved (false),
-- clicks_replace_impressions (true), impressions_table ('curated_ad_impressions'), clicks_table
-- ('curated_ad_clicks'), graph_table ('identity_graph').
{%- set impressions_table = params.impressions_table | default('curated_ad_impressions', true) %}
{%- set clicks_table = params.clicks_table | default('curated_ad_clicks', true) %}
{%- set graph_table = params.graph_table | default('identity_graph', true) %}
{%- set history_days = params.history_days | default(none) %}
{%- set clicks_replace_impressions = params.clicks_replace_impressions | default(true) %}
{%- set as_of = "CAST(DATE '" ~ ds ~ "' + INTERVAL '1' DAY AS timestamp)" %}
{%- macro window(ts_column) -%}
dt <= '{{ ds }}'
          AND {{ ts_column }} < {{ as_of }}
{%- if history_days is not none %}
          AND {{ ts_column }} >= {{ as_of }} - INTERVAL '{{ history_days | int }}' DAY
          AND dt >= CAST(DATE '{{ ds }}' - INTERVAL '{{ (history_days | int) + 1 }}' DAY AS varchar)
{%- endif %}
{%- endmacro %}
{%- set event_columns = "ts, channel, campaign_id, creative_id, publisher_id, device_id, cookie_id" %}
WITH graph AS (
    SELECT source, record_id, min(person_id) AS person_id
    FROM {{ graph_table }}
    WHERE dt = (SELECT max(dt) FROM {{ graph_table }} WHERE dt <= '{{ ds }}')
      AND source IN ('ad_devices', 'ad_cookies')
      AND person_id IS NOT NULL
    GROUP BY source, record_id
),

clicks AS (
    SELECT click_id AS touchpoint_id, impression_id, {{ event_columns }}
    FROM (
        SELECT
            click_id, impression_id, {{ event_columns }},
            row_number() OVER (
                PARTITION BY click_id ORDER BY dt DESC, source_file DESC, source_row DESC
            ) AS version_rank
        FROM {{ clicks_table }}
        WHERE {{ window('ts') }}
          AND click_id IS NOT NULL
    ) AS versions
    WHERE version_rank = 1
),

impressions AS (
    SELECT impression_id AS touchpoint_id, {{ event_columns }}
    FROM (
        SELECT
            impression_id, {{ event_columns }},
            row_number() OVER (
                PARTITION BY impression_id ORDER BY dt DESC, source_file DESC, source_row DESC
            ) AS version_rank
        FROM {{ impressions_table }}
        WHERE {{ window('ts') }}
          AND impression_id IS NOT NULL
    ) AS versions
    WHERE version_rank = 1
),

events AS (
    SELECT 'impression' AS event_type, touchpoint_id, {{ event_columns }}
    FROM impressions AS i
    {%- if clicks_replace_impressions %}
    WHERE NOT EXISTS (SELECT 1 FROM clicks AS c WHERE c.impression_id = i.touchpoint_id)
    {%- endif %}
    UNION ALL
    SELECT 'click' AS event_type, touchpoint_id, {{ event_columns }}
    FROM clicks
)

SELECT
    coalesce(by_device.person_id, by_cookie.person_id) AS person_id,
    e.ts,
    e.channel,
    e.campaign_id,
    e.creative_id,
    e.publisher_id,
    e.event_type,
    e.touchpoint_id
FROM events AS e
LEFT JOIN graph AS by_device ON by_device.source = 'ad_devices' AND by_device.record_id = e.device_id
LEFT JOIN graph AS by_cookie ON by_cookie.source = 'ad_cookies' AND by_cookie.record_id = e.cookie_id
{%- if not params.keep_unresolved | default(false) %}
WHERE coalesce(by_device.person_id, by_cookie.person_id) IS NOT NULL
{%- endif %}
