-- Overlap by segment (aggregation rule, run by the agency): matched customers per advertiser segment.
-- Params: segments (optional list of segment ids).
SELECT
    c.segment,
    COUNT(DISTINCT c.email_sha256) AS matched_customers,
    COUNT(DISTINCT p.email_sha256) AS matched_audience
FROM advertiser_customers c
INNER JOIN publisher_audience p
    ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256
{%- if params.segments %}
WHERE c.segment IN ({% for segment in params.segments %}'{{ segment }}'{{ ", " if not loop.last }}{% endfor %})
{%- endif %}
GROUP BY c.segment
