-- Journeys: the touchpoints of each person before each conversion, and the open (non-converting) paths.
--
-- One row per touchpoint that belongs to a journey. A person's touchpoints are cut at every
-- conversion: the touchpoints after conversion k-1 and up to conversion k form journey k (a
-- touchpoint at the same instant as a conversion belongs to it); those after the last conversion
-- form the open journey.
--   * converting journeys: conversions in the analysis window [as_of - analysis_days, as_of), where
--     as_of is the end of day {{ ds }}; a click counts if it is at most click_window_days before the
--     conversion, an impression if at most view_window_days before it.
--   * open journeys (converted = false): touchpoints after the person's last conversion, in the last
--     lookback_days before as_of. These are the paths of people who did not (yet) convert.
-- Conversions without any eligible touchpoint have no journey here. Columns: person_id, journey_no,
-- converted, conversion_ts, value, ts, channel, campaign_id, creative_id, publisher_id, event_type,
-- days_before_conversion. Order within a journey is (ts, channel).
--
-- Params: touchpoints_table, conversions_table, lookback_days; optional click_window_days and
-- view_window_days (default lookback_days), analysis_days (default lookback_days).
{%- set lookback_days = params.lookback_days | int %}
{%- set click_days = params.click_window_days | default(lookback_days, true) | int %}
{%- set view_days = params.view_window_days | default(lookback_days, true) | int %}
{%- set analysis_days = params.analysis_days | default(lookback_days, true) | int %}
{%- set reach_days = analysis_days + ([click_days, view_days, lookback_days] | max) %}
{#- Window bounds are inlined constant expressions (not a joined CTE) so both engines can push them
    into the table scans. #}
{%- set as_of = "CAST(DATE '" ~ ds ~ "' + INTERVAL '1' DAY AS timestamp)" %}
{%- set conversions_from = "(" ~ as_of ~ " - INTERVAL '" ~ analysis_days ~ "' DAY)" %}
{%- set open_paths_from = "(" ~ as_of ~ " - INTERVAL '" ~ lookback_days ~ "' DAY)" %}
{%- set history_from = "(" ~ as_of ~ " - INTERVAL '" ~ reach_days ~ "' DAY)" %}
WITH conversion_spans AS (
    -- each conversion closes the journey of touchpoints after the previous conversion, up to itself
    SELECT
        person_id,
        ts AS conversion_ts,
        CAST(value AS double) AS value,
        lag(ts) OVER (PARTITION BY person_id ORDER BY ts) AS previous_conversion_ts,
        row_number() OVER (PARTITION BY person_id ORDER BY ts) AS journey_no
    FROM {{ params.conversions_table }}
    WHERE ts >= {{ history_from }} AND ts < {{ as_of }} AND person_id IS NOT NULL
),

last_conversions AS (
    SELECT person_id, max(conversion_ts) AS last_conversion_ts, max(journey_no) AS conversions
    FROM conversion_spans
    GROUP BY person_id
),

converting_touches AS (
    SELECT
        t.person_id, c.journey_no, true AS converted, c.conversion_ts, coalesce(c.value, 0) AS value,
        t.ts, t.channel, t.campaign_id, t.creative_id, t.publisher_id, t.event_type,
        date_diff('second', t.ts, c.conversion_ts) / 86400.0 AS days_before_conversion
    FROM {{ params.touchpoints_table }} AS t
    JOIN conversion_spans AS c
        ON t.person_id = c.person_id
        AND t.ts <= c.conversion_ts
        AND (c.previous_conversion_ts IS NULL OR t.ts > c.previous_conversion_ts)
    WHERE t.ts >= {{ history_from }} AND t.ts < {{ as_of }}
      AND c.conversion_ts >= {{ conversions_from }}
      -- the touch must fall inside its click or view window
      AND date_diff('second', t.ts, c.conversion_ts)
          <= 86400 * CASE WHEN t.event_type = 'click' THEN {{ click_days }} ELSE {{ view_days }} END
),

open_touches AS (
    -- touchpoints after a person's last conversion (or all, for people who never converted)
    SELECT
        t.person_id, coalesce(l.conversions, 0) + 1 AS journey_no, false AS converted,
        CAST(NULL AS timestamp) AS conversion_ts, CAST(0 AS double) AS value, t.ts, t.channel,
        t.campaign_id, t.creative_id, t.publisher_id, t.event_type,
        CAST(NULL AS double) AS days_before_conversion
    FROM {{ params.touchpoints_table }} AS t
    LEFT JOIN last_conversions AS l ON t.person_id = l.person_id
    WHERE t.ts >= {{ open_paths_from }} AND t.ts < {{ as_of }}
      AND (l.last_conversion_ts IS NULL OR t.ts > l.last_conversion_ts)
)

SELECT * FROM converting_touches
UNION ALL
SELECT * FROM open_touches
