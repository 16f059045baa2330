-- Unified profile inputs: one row per person of the identity graph, with their orders (recency,
-- frequency, monetary value), ad exposures (impressions, clicks, channel affinity), CRM consent and
-- publisher attributes. The audience engine adds the model outputs (BG/NBD + Gamma-Gamma lifetime value,
-- RFM scores, value tier, lifecycle) on top (adplan.audiences.profiles).
--
-- This file is where the audience stage reads curated column names; change them here if hygiene renames:
--   identity_graph(source, record_id, person_id)        sources: crm_customers, orders, publisher_audience,
--                                                       ad_devices (device ids), ad_cookies (cookie ids)
--   curated_orders(order_id, customer_id, order_ts, order_value)
--   curated_ad_impressions(impression_id, ts, channel, device_id, cookie_id), curated_ad_clicks(click_id, ...)
--   curated_crm_customers(customer_id, email_sha256, phone_sha256, date_of_birth, signup_date, state, country,
--                         consent_email, consent_ads)
--   curated_publisher_audience(audience_record_id, interests ';'-separated, age_band, region, first_seen)
--
-- Time: days as of the end of {{ ds }}. For BG/NBD a customer's purchases are counted per purchase day:
-- frequency = purchase days - 1 (repeat purchases), t_x_days = last - first purchase day, tenure_days = T.
-- repeat_avg_value (the Gamma-Gamma input) is the mean spend of the repeat purchase days.
--
-- Params: channels (list of channel names, one affinity_<channel> column each);
--         include_publisher_attributes (bool): interests, age_band and region from the publisher's audience.
{%- import 'audiences/_inputs.jinja' as inputs %}
{%- set channels = params.channels %}
WITH graph AS (
    SELECT source, record_id, person_id
    FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
    WHERE person_id IS NOT NULL
),

people AS (
    SELECT DISTINCT person_id FROM graph
),

-- --- orders -------------------------------------------------------------------------------------------
orders AS {{ inputs.latest_events('curated_orders', 'order_id',
                                  'order_id, customer_id, order_ts, order_value', 'order_ts', ds) }},

order_people AS (
    -- the order's own graph record first; a CRM customer id links orders the graph did not resolve
    SELECT
        coalesce(by_order.person_id, by_customer.person_id) AS person_id,
        CAST(o.order_ts AS date) AS order_date,
        coalesce(CAST(o.order_value AS double), 0) AS order_value
    FROM orders AS o
    LEFT JOIN graph AS by_order ON by_order.source = 'orders' AND by_order.record_id = o.order_id
    LEFT JOIN graph AS by_customer ON by_customer.source = 'crm_customers' AND by_customer.record_id = o.customer_id
),

purchase_days AS (
    SELECT
        person_id,
        order_date,
        count(*) AS day_orders,
        sum(order_value) AS day_value,
        min(order_date) OVER (PARTITION BY person_id) AS first_order_date
    FROM order_people
    WHERE person_id IS NOT NULL
    GROUP BY person_id, order_date
),

person_orders AS (
    SELECT
        person_id,
        sum(day_orders) AS orders,
        count(*) AS purchase_days,
        min(order_date) AS first_order_date,
        max(order_date) AS last_order_date,
        sum(day_value) AS total_revenue,
        avg(day_value) FILTER (WHERE order_date > first_order_date) AS repeat_avg_value
    FROM purchase_days
    GROUP BY person_id
),

-- --- ad exposures ----------------------------------------------------------------------------------------
impressions AS {{ inputs.latest_events('curated_ad_impressions', 'impression_id',
                                       'impression_id, ts, channel, device_id, cookie_id', 'ts', ds) }},
clicks AS {{ inputs.latest_events('curated_ad_clicks', 'click_id',
                                  'click_id, ts, channel, device_id, cookie_id', 'ts', ds) }},

exposure_events AS (
    SELECT 0 AS is_click, ts, channel, device_id, cookie_id FROM impressions
    UNION ALL
    SELECT 1 AS is_click, ts, channel, device_id, cookie_id FROM clicks
),

device_people AS (
    -- ad-log identifiers; cookies may come as their own source or inside ad_devices
    SELECT record_id, person_id FROM graph WHERE source IN ('ad_devices', 'ad_cookies')
),

person_exposures AS (
    -- an event belongs to the person of its device id, else of its cookie id
    SELECT
        coalesce(by_device.person_id, by_cookie.person_id) AS person_id,
        count_if(e.is_click = 0) AS impressions,
        count_if(e.is_click = 1) AS clicks,
        max(e.ts) AS last_exposure_ts,
        {%- for channel in channels %}
        count_if(e.channel = '{{ channel }}') AS exposures_{{ channel }},
        {%- endfor %}
        count(*) AS exposures
    FROM exposure_events AS e
    LEFT JOIN device_people AS by_device ON by_device.record_id = e.device_id
    LEFT JOIN device_people AS by_cookie ON by_cookie.record_id = e.cookie_id
    WHERE coalesce(by_device.person_id, by_cookie.person_id) IS NOT NULL
    GROUP BY coalesce(by_device.person_id, by_cookie.person_id)
),

-- --- CRM ---------------------------------------------------------------------------------------------------
crm AS (
    SELECT g.person_id, c.*
    FROM {{ inputs.snapshot('curated_crm_customers', ds) }} AS c
    JOIN graph AS g ON g.source = 'crm_customers' AND g.record_id = c.customer_id
),

person_crm AS (
    SELECT
        person_id,
        count(*) AS crm_records,
        -- consent needs a grant on some record and a refusal on none: a withdrawal anywhere wins
        count_if(consent_ads) > 0 AND count_if(NOT consent_ads) = 0 AS consent_ads,
        count_if(consent_email) > 0 AND count_if(NOT consent_email) = 0 AS consent_email,
        count_if(email_sha256 IS NOT NULL) > 0 AS has_email,
        count_if(phone_sha256 IS NOT NULL) > 0 AS has_phone,
        max_by(date_of_birth, coalesce(CAST(signup_date AS varchar), '') || customer_id)
            FILTER (WHERE date_of_birth IS NOT NULL) AS date_of_birth,
        max_by(state, coalesce(CAST(signup_date AS varchar), '') || customer_id)
            FILTER (WHERE state IS NOT NULL) AS state,
        max_by(country, coalesce(CAST(signup_date AS varchar), '') || customer_id)
            FILTER (WHERE country IS NOT NULL) AS country
    FROM crm
    GROUP BY person_id
),

-- --- publisher attributes ---------------------------------------------------------------------------------
publisher AS (
    SELECT g.person_id, p.audience_record_id, p.interests, p.age_band, p.region, p.first_seen
    FROM {{ inputs.snapshot('curated_publisher_audience', ds) }} AS p
    JOIN graph AS g ON g.source = 'publisher_audience' AND g.record_id = p.audience_record_id
    {%- if not params.include_publisher_attributes %}
    WHERE false
    {%- endif %}
),

person_interests AS (
    SELECT p.person_id, array_sort(array_agg(DISTINCT lower(trim(u.interest)))) AS interests
    FROM publisher AS p
    CROSS JOIN UNNEST(split(p.interests, ';')) AS u(interest)
    WHERE trim(u.interest) <> ''
    GROUP BY p.person_id
),

person_publisher AS (
    SELECT
        person_id,
        count(*) AS publisher_records,
        max_by(age_band, coalesce(CAST(first_seen AS varchar), '') || audience_record_id)
            FILTER (WHERE age_band IS NOT NULL) AS age_band,
        max_by(region, coalesce(CAST(first_seen AS varchar), '') || audience_record_id)
            FILTER (WHERE region IS NOT NULL) AS region
    FROM publisher
    GROUP BY person_id
),

joined AS (
    SELECT
        p.person_id,
        coalesce(o.orders, 0) > 0 AS is_customer,
        CAST(coalesce(o.orders, 0) AS bigint) AS orders,
        CAST(coalesce(o.purchase_days, 0) AS bigint) AS purchase_days,
        CAST(greatest(coalesce(o.purchase_days, 0) - 1, 0) AS bigint) AS frequency,
        o.first_order_date,
        o.last_order_date,
        date_diff('day', o.last_order_date, DATE '{{ ds }}') AS recency_days,
        date_diff('day', o.first_order_date, DATE '{{ ds }}') AS tenure_days,
        date_diff('day', o.first_order_date, o.last_order_date) AS t_x_days,
        coalesce(o.total_revenue, 0) AS total_revenue,
        o.total_revenue / nullif(o.orders, 0) AS avg_order_value,
        coalesce(o.total_revenue, 0) AS ltv_to_date,
        o.repeat_avg_value,
        CAST(coalesce(e.impressions, 0) AS bigint) AS impressions,
        CAST(coalesce(e.clicks, 0) AS bigint) AS clicks,
        CAST(coalesce(e.exposures, 0) AS bigint) AS exposures,
        CAST(e.clicks AS double) / nullif(e.impressions, 0) AS ctr,
        e.last_exposure_ts,
        date_diff('day', CAST(e.last_exposure_ts AS date), DATE '{{ ds }}') AS days_since_exposure,
        {%- for channel in channels %}
        coalesce(CAST(e.exposures_{{ channel }} AS double) / nullif(e.exposures, 0), 0) AS affinity_{{ channel }},
        {%- endfor %}
        i.interests,
        pp.age_band,
        pp.region,
        CAST(coalesce(pp.publisher_records, 0) AS bigint) AS publisher_records,
        c.person_id IS NOT NULL AS has_crm,
        CAST(coalesce(c.crm_records, 0) AS bigint) AS crm_records,
        coalesce(c.consent_email, false) AS consent_email,
        coalesce(c.consent_ads, false) AS consent_ads,
        coalesce(c.has_email, false) AS has_email,
        coalesce(c.has_phone, false) AS has_phone,
        CAST(floor(date_diff('day', CAST(c.date_of_birth AS date), DATE '{{ ds }}') / 365.25) AS integer) AS age,
        c.state,
        c.country
    FROM people AS p
    LEFT JOIN person_orders AS o ON o.person_id = p.person_id
    LEFT JOIN person_exposures AS e ON e.person_id = p.person_id
    LEFT JOIN person_crm AS c ON c.person_id = p.person_id
    LEFT JOIN person_interests AS i ON i.person_id = p.person_id
    LEFT JOIN person_publisher AS pp ON pp.person_id = p.person_id
)

SELECT
    joined.*,
    -- the channel with the largest share of exposures (ties: the first channel in the configured order)
    CASE
        WHEN exposures = 0 THEN NULL
        {%- for channel in channels %}
        WHEN affinity_{{ channel }} = greatest({% for other in channels %}affinity_{{ other }}{{ ", " if not loop.last }}{% endfor %}) THEN '{{ channel }}'
        {%- endfor %}
    END AS top_channel
FROM joined
