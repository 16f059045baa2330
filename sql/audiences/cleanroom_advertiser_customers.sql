-- The advertiser's customers as the clean room's configured table cr_advertiser_customers sees them:
-- one row per (CRM customer, segment) with hashed identifiers only. Its list configuration exposes
-- customer_id and segment; the aggregation configuration segment, ltv_tier and region (the CRM state).
--
-- Params: segment_members_table (segment_id, person_id, dt), profiles_table (person_id, ltv_tier, dt).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH graph AS (
    SELECT record_id, person_id
    FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
    WHERE source = 'crm_customers'
)

SELECT DISTINCT
    c.customer_id,
    c.email_sha256,
    c.phone_sha256,
    m.segment_id AS segment,
    pr.ltv_tier,
    c.state AS region
FROM {{ params.segment_members_table }} AS m
JOIN graph AS g ON g.person_id = m.person_id
JOIN {{ inputs.snapshot('curated_crm_customers', ds) }} AS c ON c.customer_id = g.record_id
LEFT JOIN {{ params.profiles_table }} AS pr ON pr.person_id = m.person_id AND pr.dt = '{{ ds }}'
WHERE m.dt = '{{ ds }}'
  AND (c.email_sha256 IS NOT NULL OR c.phone_sha256 IS NOT NULL)
