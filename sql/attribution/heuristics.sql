-- Heuristic attribution models over converting journeys: credit for conversions and conversion
-- value per model, channel and campaign. Every model hands out exactly one conversion per journey.
--   first_touch, last_touch
--   last_non_direct_click   the last click whose channel is not direct_channel; failing that the last
--                           non-direct touch; failing that (an all-direct journey) the last touch
--   linear                  equal shares
--   position_based          first_weight to the first touch, last_weight to the last, the rest shared
--                           by the touches between (a 2-touch journey splits first:last)
--   time_decay              weight 2^(-days before conversion / half_life_days), normalized per journey
--
-- Params: journeys_table (attribution/journeys.sql output); optional direct_channel ('direct'),
-- first_weight (0.4), last_weight (0.4), half_life_days (7), daily (false: adds conversion_date).
{%- set direct_channel = params.direct_channel | default('direct', true) %}
{%- set first_weight = params.first_weight | default(0.4, true) | float %}
{%- set last_weight = params.last_weight | default(0.4, true) | float %}
{%- set half_life_days = params.half_life_days | default(7, true) | float %}
{%- set daily = params.daily | default(false) %}
WITH converting_touches AS (
    SELECT
        person_id,
        journey_no,
        CAST(conversion_ts AS date) AS conversion_date,
        value,
        channel,
        campaign_id,
        event_type,
        days_before_conversion,
        row_number() OVER (PARTITION BY person_id, journey_no ORDER BY ts, channel) AS touch_index,
        count(*) OVER (PARTITION BY person_id, journey_no) AS touch_count
    FROM {{ params.journeys_table }}
    WHERE converted
),

ranked_touches AS (
    SELECT
        person_id,
        journey_no,
        conversion_date,
        value,
        channel,
        campaign_id,
        touch_index,
        touch_count,
        coalesce(
            max(CASE WHEN event_type = 'click' AND channel <> '{{ direct_channel }}' THEN touch_index END)
                OVER (PARTITION BY person_id, journey_no),
            max(CASE WHEN channel <> '{{ direct_channel }}' THEN touch_index END)
                OVER (PARTITION BY person_id, journey_no),
            touch_count
        ) AS credited_index,
        power(0.5, days_before_conversion / {{ half_life_days }}) AS decay
    FROM converting_touches
),

weights AS (
    SELECT
        conversion_date,
        channel,
        campaign_id,
        value,
        CASE WHEN touch_index = 1 THEN 1.0 ELSE 0.0 END AS first_touch,
        CASE WHEN touch_index = touch_count THEN 1.0 ELSE 0.0 END AS last_touch,
        CASE WHEN touch_index = credited_index THEN 1.0 ELSE 0.0 END AS last_non_direct_click,
        1.0 / touch_count AS linear,
        CASE
            WHEN touch_count = 1 THEN 1.0
            WHEN touch_count = 2 THEN
                CASE WHEN touch_index = 1 THEN {{ first_weight }} ELSE {{ last_weight }} END
                / ({{ first_weight }} + {{ last_weight }})
            WHEN touch_index = 1 THEN {{ first_weight }}
            WHEN touch_index = touch_count THEN {{ last_weight }}
            ELSE (1.0 - {{ first_weight }} - {{ last_weight }}) / (touch_count - 2)
        END AS position_based,
        decay / sum(decay) OVER (PARTITION BY person_id, journey_no) AS time_decay
    FROM ranked_touches
),

credits AS (
    SELECT
        {% if daily %}conversion_date,{% endif %}
        channel,
        campaign_id,
        sum(first_touch) AS first_touch, sum(first_touch * value) AS first_touch_value,
        sum(last_touch) AS last_touch, sum(last_touch * value) AS last_touch_value,
        sum(last_non_direct_click) AS last_non_direct_click,
        sum(last_non_direct_click * value) AS last_non_direct_click_value,
        sum(linear) AS linear, sum(linear * value) AS linear_value,
        sum(position_based) AS position_based, sum(position_based * value) AS position_based_value,
        sum(time_decay) AS time_decay, sum(time_decay * value) AS time_decay_value
    FROM weights
    GROUP BY {% if daily %}conversion_date, {% endif %}channel, campaign_id
)

{% for model in ['first_touch', 'last_touch', 'last_non_direct_click', 'linear', 'position_based', 'time_decay'] -%}
SELECT
    '{{ model }}' AS model,
    {% if daily %}conversion_date,{% endif %}
    channel,
    campaign_id,
    {{ model }} AS conversions,
    {{ model }}_value AS value
FROM credits
{% if not loop.last %}UNION ALL
{% endif %}
{%- endfor %}
