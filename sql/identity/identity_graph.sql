-- The identity graph of a date from the matching output (AWS Entity Resolution's, or the local
-- engine's in the same shape): one row per input record with its person (= MatchID).
-- Params: technique ('rules': RULE_MATCHING writes MatchRule; 'ml': ML_MATCHING writes ConfidenceLevel).
SELECT
    regexp_replace(
        regexp_replace(InputSourceARN, '^arn:aws[a-z-]*:glue:[^:]*:[^:]*:table/[^/]+/', ''),
        '^curated_', ''
    ) AS source,
    CAST(record_id AS VARCHAR) AS record_id,
    MatchID AS person_id,
{% if params.technique == 'rules' %}
    CAST(MatchRule AS VARCHAR) AS match_rule,
    CAST(NULL AS DOUBLE) AS confidence
{% else %}
    CAST(NULL AS VARCHAR) AS match_rule,
    CAST(ConfidenceLevel AS DOUBLE) AS confidence
{% endif %}
FROM entity_resolution_output
WHERE dt = '{{ ds }}'
