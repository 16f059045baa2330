-- Enrichment of the advertiser's segments with the publisher's interest attributes, as an AWS Clean Rooms
-- LIST query (Clean Rooms SQL: rendered with Jinja, never transpiled, checked by the collaboration's
-- analysis rules). Run by the advertiser, who owns the customers table: for each of its own customers in
-- the chosen segments whom the publisher's audience matches on hashed email, the publisher's list columns.
-- The structure is the list rule's: SELECT DISTINCT of list columns only, an INNER JOIN on the join column
-- email_sha256, a WHERE on a list column, no functions, no raw publisher rows.
--
-- Params: customers_table (default advertiser_customers_list), audience_table (default
-- publisher_audience_list), segments (list of segment ids; empty = every segment).
SELECT DISTINCT c.customer_id, c.segment, p.interest, p.age_band, p.region
FROM {{ params.customers_table | default('advertiser_customers_list', true) }} c
INNER JOIN {{ params.audience_table | default('publisher_audience_list', true) }} p
    ON c.email_sha256 = p.email_sha256
{%- if params.segments %}
WHERE c.segment IN ({% for segment in params.segments %}'{{ segment }}'{{ ", " if not loop.last }}{% endfor %})
{%- endif %}
