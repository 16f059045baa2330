-- Enrichment (list rule, run by the advertiser, who owns the customers table): for its own customers in
-- the chosen segments that the publisher's audience matches on hashed email or phone, the publisher's list
-- columns (interest, age band, region). SELECT DISTINCT of list columns only; no functions.
-- Params: segments (optional list of segment ids).
SELECT DISTINCT c.customer_id, c.segment, p.interest, p.age_band, p.region
FROM advertiser_customers_list c
INNER JOIN publisher_audience_list p
    ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256
{%- if params.segments %}
WHERE c.segment IN ({% for segment in params.segments %}'{{ segment }}'{{ ", " if not loop.last }}{% endfor %})
{%- endif %}
