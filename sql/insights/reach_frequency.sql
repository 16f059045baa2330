-- Reach and frequency per campaign: distinct people reached (ad-log devices and cookies resolved
-- through the identity graph) and how often they saw the campaign. The `reach_frequency` mart.
--
--   * Impressions: curated_ad_impressions, every partition up to ds, latest version of each id,
--     before the end of ds (all history, or the last params.lookback_days days when given).
--   * Person: the identity graph at its latest partition on or before ds; the impression's device
--     (source ad_devices) or, failing that, its cookie (source ad_cookies). Impressions of unknown
--     devices and cookies count in impressions and unresolved_impressions, not in reach.
--   * avg_frequency = resolved impressions / reach; freq_* = people who saw the campaign that many
--     times. No person ids leave this query.
--
-- Params (all optional): lookback_days (none: all history).
{%- set lookback_days = params.lookback_days | default(none) %}
{%- set as_of = "CAST(DATE '" ~ ds ~ "' + INTERVAL '1' DAY AS timestamp)" %}
WITH graph AS (
    SELECT source, record_id, min(person_id) AS person_id
    FROM identity_graph
    WHERE dt = (SELECT max(dt) FROM identity_graph WHERE dt <= '{{ ds }}')
      AND source IN ('ad_devices', 'ad_cookies')
      AND person_id IS NOT NULL
    GROUP BY source, record_id
),

campaigns AS (
    SELECT campaign_id, max(advertiser_id) AS advertiser_id
    FROM curated_campaigns
    WHERE dt = (SELECT max(dt) FROM curated_campaigns WHERE dt <= '{{ ds }}')
    GROUP BY campaign_id
),

impressions AS (
    SELECT campaign_id, device_id, cookie_id
    FROM (
        SELECT campaign_id, device_id, cookie_id,
               row_number() OVER (PARTITION BY impression_id ORDER BY dt DESC) AS version_rank
        FROM curated_ad_impressions
        WHERE dt <= '{{ ds }}' AND ts < {{ as_of }} AND impression_id IS NOT NULL
        {%- if lookback_days is not none %}
          AND ts >= {{ as_of }} - INTERVAL '{{ lookback_days | int }}' DAY
        {%- endif %}
    ) AS versions
    WHERE version_rank = 1
),

resolved AS (
    SELECT i.campaign_id, coalesce(by_device.person_id, by_cookie.person_id) AS person_id
    FROM impressions AS i
    LEFT JOIN graph AS by_device ON by_device.source = 'ad_devices' AND by_device.record_id = i.device_id
    LEFT JOIN graph AS by_cookie ON by_cookie.source = 'ad_cookies' AND by_cookie.record_id = i.cookie_id
),

per_person AS (
    SELECT campaign_id, person_id, count(*) AS exposures
    FROM resolved
    WHERE person_id IS NOT NULL
    GROUP BY campaign_id, person_id
),

totals AS (
    SELECT campaign_id, count(*) AS impressions, count_if(person_id IS NULL) AS unresolved_impressions
    FROM resolved
    GROUP BY campaign_id
),

distribution AS (
    SELECT
        campaign_id,
        count(*) AS reach,
        sum(exposures) AS resolved_impressions,
        count_if(exposures = 1) AS freq_1,
        count_if(exposures = 2) AS freq_2,
        count_if(exposures BETWEEN 3 AND 5) AS freq_3_5,
        count_if(exposures BETWEEN 6 AND 10) AS freq_6_10,
        count_if(exposures > 10) AS freq_11_plus,
        max(exposures) AS max_frequency
    FROM per_person
    GROUP BY campaign_id
)

SELECT
    c.advertiser_id,
    t.campaign_id,
    CAST(t.impressions AS bigint) AS impressions,
    CAST(t.unresolved_impressions AS bigint) AS unresolved_impressions,
    CAST(coalesce(d.reach, 0) AS bigint) AS reach,
    CASE WHEN d.reach > 0 THEN round(CAST(d.resolved_impressions AS double) / d.reach, 6) END AS avg_frequency,
    CAST(coalesce(d.freq_1, 0) AS bigint) AS freq_1,
    CAST(coalesce(d.freq_2, 0) AS bigint) AS freq_2,
    CAST(coalesce(d.freq_3_5, 0) AS bigint) AS freq_3_5,
    CAST(coalesce(d.freq_6_10, 0) AS bigint) AS freq_6_10,
    CAST(coalesce(d.freq_11_plus, 0) AS bigint) AS freq_11_plus,
    CAST(coalesce(d.max_frequency, 0) AS bigint) AS max_frequency
FROM totals AS t
LEFT JOIN distribution AS d ON d.campaign_id = t.campaign_id
LEFT JOIN campaigns AS c ON c.campaign_id = t.campaign_id
ORDER BY t.campaign_id
