-- Exposures per journey: one row per journey (converting or open), a column of exposure counts per
-- channel, and the journey's outcome. The input of the incrementality model.
--
-- Params: journeys_table (attribution/journeys.sql output), channels (list of channel names; one
-- column each, named after the channel).
SELECT
    person_id,
    journey_no,
    {%- for channel in params.channels %}
    count_if(channel = '{{ channel | replace("'", "''") }}') AS "{{ channel | replace('"', '') }}",
    {%- endfor %}
    count(*) AS exposures,
    count_if(event_type = 'click') AS clicks,
    bool_or(converted) AS converted,
    max(value) AS value
FROM {{ params.journeys_table }}
GROUP BY person_id, journey_no
