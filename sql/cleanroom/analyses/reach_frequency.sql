-- Reach and frequency (aggregation rule, run by the agency): per campaign and advertiser segment, the
-- customers reached by the campaign's impressions, the impressions they saw, and the average frequency.
-- Grouped by segment because the customers table has one row per customer and segment, so within a
-- segment each customer's impressions are counted once.
-- Params: campaign_id (optional: one campaign).
SELECT
    i.campaign_id,
    c.segment,
    COUNT(DISTINCT i.email_sha256) AS reach,
    COUNT(i.ts) AS impressions,
    ROUND(CAST(COUNT(i.ts) AS DOUBLE PRECISION) / COUNT(DISTINCT i.email_sha256), 2) AS avg_frequency
FROM publisher_impressions i
INNER JOIN advertiser_customers c
    ON c.email_sha256 = i.email_sha256
{%- if params.campaign_id %}
WHERE i.campaign_id = '{{ params.campaign_id }}'
{%- endif %}
GROUP BY i.campaign_id, c.segment
