-- Aggregated paths in ChannelAttribution's shape: one row per distinct channel path
-- ('a > b > c', in time order), with its conversions, conversion value and non-converting count.
--
-- Params: journeys_table (the output of attribution/journeys.sql).
WITH journey_paths AS (
    SELECT
        person_id,
        journey_no,
        bool_or(converted) AS converted,
        max(value) AS value,
        listagg(channel, ' > ') WITHIN GROUP (ORDER BY ts, channel) AS path
    FROM {{ params.journeys_table }}
    GROUP BY person_id, journey_no
)

SELECT
    path,
    sum(CASE WHEN converted THEN 1 ELSE 0 END) AS total_conversions,
    sum(CASE WHEN converted THEN value ELSE 0 END) AS total_conversion_value,
    sum(CASE WHEN converted THEN 0 ELSE 1 END) AS total_null
FROM journey_paths
GROUP BY path
ORDER BY total_conversions DESC, total_null DESC, path
