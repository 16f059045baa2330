-- Segment descriptions for the creative stage and planners: one row per segment with its size and the
-- aggregates that describe it (no person-level data).
--
-- share_of_customers = customers in the segment / all customers (0 for a prospect-only segment);
-- avg_order_value, avg_ltv (predicted 12-month LTV), avg_ltv_to_date and median_recency_days are over the
-- segment's customers; lifecycle is the segment's most common lifecycle stage.
--
-- Params: members_table (segment_id, person_id), profiles_table, segment_ids (every segment, so an empty
-- segment still gets a row with size 0).
WITH segments AS (
    SELECT segment_id FROM (VALUES {% for id in params.segment_ids %}('{{ id }}'){{ ", " if not loop.last }}{% endfor %}) AS s(segment_id)
),

members AS (
    SELECT m.segment_id, p.*
    FROM {{ params.members_table }} AS m
    JOIN {{ params.profiles_table }} AS p ON p.person_id = m.person_id
),

totals AS (
    SELECT count(*) AS profiles, count_if(is_customer) AS customers FROM {{ params.profiles_table }}
),

stages AS (
    SELECT segment_id, lifecycle, count(*) AS people FROM members GROUP BY segment_id, lifecycle
),

main_stage AS (
    SELECT segment_id, element_at(array_agg(lifecycle ORDER BY people DESC, lifecycle), 1) AS lifecycle
    FROM stages
    GROUP BY segment_id
),

stats AS (
    SELECT
        segment_id,
        count(*) AS size,
        count_if(is_customer) AS customers,
        count_if(consent_ads) AS consented_for_ads,
        avg(avg_order_value) FILTER (WHERE is_customer) AS avg_order_value,
        avg(predicted_ltv_12m) FILTER (WHERE is_customer) AS avg_ltv,
        avg(ltv_to_date) FILTER (WHERE is_customer) AS avg_ltv_to_date,
        approx_percentile(recency_days, 0.5) AS median_recency_days
    FROM members
    GROUP BY segment_id
)

SELECT
    s.segment_id,
    CAST(coalesce(st.size, 0) AS bigint) AS size,
    CAST(coalesce(st.customers, 0) AS bigint) AS customers,
    CAST(coalesce(st.customers, 0) AS double) / nullif(t.customers, 0) AS share_of_customers,
    CAST(coalesce(st.size, 0) AS double) / nullif(t.profiles, 0) AS share_of_profiles,
    CAST(coalesce(st.consented_for_ads, 0) AS bigint) AS consented_for_ads,
    st.avg_order_value,
    st.avg_ltv,
    st.avg_ltv_to_date,
    st.median_recency_days,
    ms.lifecycle
FROM segments AS s
CROSS JOIN totals AS t
LEFT JOIN stats AS st ON st.segment_id = s.segment_id
LEFT JOIN main_stage AS ms ON ms.segment_id = s.segment_id
