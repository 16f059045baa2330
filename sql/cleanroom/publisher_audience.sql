-- The publisher's configured table cr_publisher_audience: its logged-in audience with hashed identifiers
-- (the MAID is hashed here), one row per interest (a member without interests keeps one row, interest NULL).
--
-- Params: publisher_id (optional: only that publisher's audience).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH audience AS (
    SELECT
        lower(email_sha256) AS email_sha256,
        lower(phone_sha256) AS phone_sha256,
        lower(maid_sha256) AS maid_sha256,
        CAST(interests AS varchar) AS interests,
        CAST(age_band AS varchar) AS age_band,
        CAST(region AS varchar) AS region
    FROM {{ inputs.snapshot('curated_publisher_audience', ds) }} AS a
    WHERE (email_sha256 IS NOT NULL OR phone_sha256 IS NOT NULL OR maid_sha256 IS NOT NULL)
    {%- if params.publisher_id %}
      AND publisher_id = '{{ params.publisher_id }}'
    {%- endif %}
)

SELECT DISTINCT
    a.email_sha256,
    a.phone_sha256,
    a.maid_sha256,
    nullif(lower(trim(i.interest)), '') AS interest,
    a.age_band,
    a.region
FROM audience AS a
LEFT JOIN UNNEST(split(coalesce(a.interests, ''), ';')) AS i (interest) ON TRUE
