-- Lookalike features of every publisher audience record: only what the publisher side has (interests,
-- age band, region, ad exposure), plus the person the identity graph linked it to, if any (for labels
-- and exclusions on the advertiser side; never a model feature).
--
-- Params: profiles_table (impressions, clicks, days_since_exposure per person).
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH graph AS (
    SELECT record_id, person_id
    FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
    WHERE source = 'publisher_audience' AND person_id IS NOT NULL
)

SELECT
    p.audience_record_id,
    p.publisher_id,
    p.maid_sha256,
    g.person_id,
    p.interests,
    p.age_band,
    p.region,
    coalesce(pr.impressions, 0) AS impressions,
    coalesce(pr.clicks, 0) AS clicks,
    pr.days_since_exposure,
    coalesce(pr.is_customer, false) AS is_customer
FROM {{ inputs.snapshot('curated_publisher_audience', ds) }} AS p
LEFT JOIN graph AS g ON g.record_id = p.audience_record_id
LEFT JOIN {{ params.profiles_table }} AS pr ON pr.person_id = g.person_id
