-- Feature means per segment, for everyone, and everyone's standard deviation: the inputs of each
-- segment's standardized mean differences, (segment mean - everyone's mean) / everyone's std.
-- Booleans count as 0/1; NULLs are left out of each mean.
--
-- Params: members_table (segment_id, person_id), profiles_table, features (numeric or boolean columns).
{%- macro averages(function, prefix) -%}
{%- for feature in params.features %}
        {{ function }}(CAST({{ prefix }}"{{ feature }}" AS double)) AS "{{ feature }}"{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}
SELECT
    m.segment_id AS statistic,
    count(*) AS people,{{ averages('avg', 'p.') }}
FROM {{ params.members_table }} AS m
JOIN {{ params.profiles_table }} AS p ON p.person_id = m.person_id
GROUP BY m.segment_id
UNION ALL
SELECT
    '__everyone_mean__' AS statistic,
    count(*) AS people,{{ averages('avg', '') }}
FROM {{ params.profiles_table }}
UNION ALL
SELECT
    '__everyone_std__' AS statistic,
    count(*) AS people,{{ averages('stddev_pop', '') }}
FROM {{ params.profiles_table }}
