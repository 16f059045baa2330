-- Enrichment profile per segment from the clean room's list result: for each publisher attribute value,
-- how many of the segment's matched customers have it, their share, and an index against all matched
-- customers of the result (100 = as common as among everyone matched). Values held by fewer than
-- min_customers customers are dropped (small cells describe individuals, not segments).
--
-- Params: rows_table (customer_id, segment, interest, age_band, region), min_customers.
WITH attributes AS (
    SELECT DISTINCT customer_id, segment, 'interest' AS attribute, interest AS value
    FROM {{ params.rows_table }} WHERE interest IS NOT NULL
    UNION ALL
    SELECT DISTINCT customer_id, segment, 'age_band', age_band FROM {{ params.rows_table }} WHERE age_band IS NOT NULL
    UNION ALL
    SELECT DISTINCT customer_id, segment, 'region', region FROM {{ params.rows_table }} WHERE region IS NOT NULL
),

matched AS (
    SELECT segment, count(DISTINCT customer_id) AS matched_customers FROM {{ params.rows_table }} GROUP BY segment
),

everyone AS (
    SELECT count(DISTINCT customer_id) AS matched_customers FROM {{ params.rows_table }}
),

everyone_values AS (
    SELECT attribute, value, count(DISTINCT customer_id) AS customers FROM attributes GROUP BY attribute, value
),

segment_values AS (
    SELECT segment, attribute, value, count(DISTINCT customer_id) AS customers
    FROM attributes
    GROUP BY segment, attribute, value
)

SELECT
    s.segment AS segment_id,
    s.attribute,
    s.value,
    s.customers,
    m.matched_customers,
    CAST(s.customers AS double) / m.matched_customers AS share,
    100 * (CAST(s.customers AS double) / m.matched_customers)
        / (CAST(v.customers AS double) / e.matched_customers) AS index_vs_matched
FROM segment_values AS s
JOIN matched AS m ON m.segment = s.segment
JOIN everyone_values AS v ON v.attribute = s.attribute AND v.value = s.value
CROSS JOIN everyone AS e
WHERE s.customers >= {{ params.min_customers | int }}
