-- The advertiser's configured table cr_advertiser_customers: one row per (CRM customer, segment), hashed
-- identifiers only. Segments come from the audience stage (segment_members, by person) through the
-- identity graph; only customers who consented to ads are shared.
--
-- Params: segment_members_table (default segment_members), profiles_table (default profiles),
-- require_consent (default true).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH graph AS (
    SELECT record_id, person_id
    FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
    WHERE source = 'crm_customers'
),

members AS (
    SELECT segment_id, person_id
    FROM {{ params.segment_members_table | default('segment_members', true) }}
    WHERE dt = (SELECT max(dt) FROM {{ params.segment_members_table | default('segment_members', true) }} WHERE dt <= '{{ ds }}')
),

profiles AS (
    SELECT person_id, max(ltv_tier) AS ltv_tier
    FROM {{ params.profiles_table | default('profiles', true) }}
    WHERE dt = (SELECT max(dt) FROM {{ params.profiles_table | default('profiles', true) }} WHERE dt <= '{{ ds }}')
    GROUP BY person_id
)

SELECT DISTINCT
    CAST(c.customer_id AS varchar) AS customer_id,
    lower(c.email_sha256) AS email_sha256,
    lower(c.phone_sha256) AS phone_sha256,
    CAST(m.segment_id AS varchar) AS segment,
    CAST(pr.ltv_tier AS varchar) AS ltv_tier,
    CAST(c.state AS varchar) AS region
FROM members AS m
JOIN graph AS g ON g.person_id = m.person_id
JOIN {{ inputs.snapshot('curated_crm_customers', ds) }} AS c ON c.customer_id = g.record_id
LEFT JOIN profiles AS pr ON pr.person_id = m.person_id
WHERE (c.email_sha256 IS NOT NULL OR c.phone_sha256 IS NOT NULL)
{%- if params.require_consent | default(true) %}
  AND lower(CAST(c.consent_ads AS varchar)) IN ('true', '1', 'yes', 'y', 't')
{%- endif %}
