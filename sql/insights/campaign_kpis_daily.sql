-- Campaign KPIs per day: one row per date, advertiser, campaign, channel, publisher and creative over
-- the window (ds - lookback_days, ds]. The `campaign_kpis_daily` mart.
--
--   * impressions, clicks: ad-server logs (curated_ad_impressions / curated_ad_clicks), every partition
--     up to ds, the latest delivered version of each id, events before the end of ds.
--   * spend: the spend table (billing; the same figures as channel_roas), latest delivered version of
--     each (date, campaign, channel, publisher), split over creatives by their share of the logged
--     cost_micros (or of impressions when nothing was logged at a cost). Spend without any logged
--     delivery stays on a row with creative_id NULL.
--   * conversions, revenue: attribution_credits of params.model at its latest partition on or before
--     ds. Credits are not daily, so a campaign x channel credit is spread over that campaign x
--     channel's rows in the window by share of clicks (impressions if it had no click, spend if it had
--     neither); a channel-level credit (campaign_id NULL: path models) over the channel's rows.
--     A credit whose campaign x channel delivered nothing in the window is not allocated.
--   * ctr = clicks / impressions, cpm = spend * 1000 / impressions, cpc = spend / clicks,
--     cpa = spend / conversions, roas = revenue / spend; NULL where the denominator is 0.
--
-- Params (all optional): model ('linear'), lookback_days (30), credits_available (true; false when
-- attribution_credits does not exist yet: conversions and revenue are 0).
{%- set model = params.model | default('linear', true) %}
{%- set lookback_days = params.lookback_days | default(30, true) | int %}
{%- set as_of = "CAST(DATE '" ~ ds ~ "' + INTERVAL '1' DAY AS timestamp)" %}
{%- set since = "CAST(DATE '" ~ ds ~ "' - INTERVAL '" ~ (lookback_days - 1) ~ "' DAY AS timestamp)" %}
WITH campaigns AS (
    SELECT campaign_id, max(advertiser_id) AS advertiser_id
    FROM curated_campaigns
    WHERE dt = (SELECT max(dt) FROM curated_campaigns WHERE dt <= '{{ ds }}')
    GROUP BY campaign_id
),

impressions AS (
    SELECT CAST(ts AS date) AS "date", campaign_id, channel, publisher_id, creative_id,
           count(*) AS impressions, sum(coalesce(cost_micros, 0)) AS cost_micros
    FROM (
        SELECT ts, campaign_id, channel, publisher_id, creative_id, cost_micros,
               row_number() OVER (PARTITION BY impression_id ORDER BY dt DESC) AS version_rank
        FROM curated_ad_impressions
        WHERE dt <= '{{ ds }}' AND ts < {{ as_of }} AND ts >= {{ since }} AND impression_id IS NOT NULL
    ) AS versions
    WHERE version_rank = 1
    GROUP BY 1, 2, 3, 4, 5
),

clicks AS (
    SELECT CAST(ts AS date) AS "date", campaign_id, channel, publisher_id, creative_id,
           count(*) AS clicks
    FROM (
        SELECT ts, campaign_id, channel, publisher_id, creative_id,
               row_number() OVER (PARTITION BY click_id ORDER BY dt DESC) AS version_rank
        FROM curated_ad_clicks
        WHERE dt <= '{{ ds }}' AND ts < {{ as_of }} AND ts >= {{ since }} AND click_id IS NOT NULL
    ) AS versions
    WHERE version_rank = 1
    GROUP BY 1, 2, 3, 4, 5
),

delivery AS (
    SELECT
        coalesce(i."date", c."date") AS "date",
        coalesce(i.campaign_id, c.campaign_id) AS campaign_id,
        coalesce(i.channel, c.channel) AS channel,
        coalesce(i.publisher_id, c.publisher_id) AS publisher_id,
        coalesce(i.creative_id, c.creative_id) AS creative_id,
        coalesce(i.impressions, 0) AS impressions,
        coalesce(c.clicks, 0) AS clicks,
        coalesce(i.cost_micros, 0) AS cost_micros
    FROM impressions AS i
    FULL OUTER JOIN clicks AS c
        ON i."date" = c."date" AND i.campaign_id = c.campaign_id AND i.channel = c.channel
       AND i.publisher_id = c.publisher_id AND i.creative_id = c.creative_id
),

spend AS (
    SELECT "date", campaign_id, channel, publisher_id, sum(spend) AS spend
    FROM (
        SELECT CAST("date" AS date) AS "date", campaign_id, channel, publisher_id,
               CAST(spend AS double) AS spend, dt,
               max(dt) OVER (PARTITION BY CAST("date" AS date), campaign_id, channel, publisher_id) AS latest_dt
        FROM curated_spend
        WHERE dt <= '{{ ds }}'
          AND CAST("date" AS date) <= DATE '{{ ds }}'
          AND CAST("date" AS date) > DATE '{{ ds }}' - INTERVAL '{{ lookback_days }}' DAY
    ) AS versions
    WHERE dt = latest_dt
    GROUP BY 1, 2, 3, 4
),

delivery_shares AS (
    SELECT
        d.*,
        CASE
            WHEN sum(cost_micros) OVER key > 0 THEN CAST(cost_micros AS double) / sum(cost_micros) OVER key
            WHEN sum(impressions) OVER key > 0 THEN CAST(impressions AS double) / sum(impressions) OVER key
            ELSE 1.0 / count(*) OVER key
        END AS spend_share
    FROM delivery AS d
    WINDOW key AS (PARTITION BY "date", campaign_id, channel, publisher_id)
),

facts AS (
    SELECT
        coalesce(d."date", s."date") AS "date",
        coalesce(d.campaign_id, s.campaign_id) AS campaign_id,
        coalesce(d.channel, s.channel) AS channel,
        coalesce(d.publisher_id, s.publisher_id) AS publisher_id,
        d.creative_id,
        coalesce(d.impressions, 0) AS impressions,
        coalesce(d.clicks, 0) AS clicks,
        coalesce(s.spend * coalesce(d.spend_share, 1.0), 0) AS spend
    FROM delivery_shares AS d
    FULL OUTER JOIN spend AS s
        ON d."date" = s."date" AND d.campaign_id = s.campaign_id AND d.channel = s.channel
       AND d.publisher_id = s.publisher_id
),

credits AS (
    {%- if params.credits_available | default(true) %}
    SELECT campaign_id, channel, sum(conversions) AS conversions, sum(value) AS revenue
    FROM attribution_credits
    WHERE dt = (SELECT max(dt) FROM attribution_credits WHERE dt <= '{{ ds }}')
      AND model = '{{ model | replace("'", "''") }}'
    GROUP BY campaign_id, channel
    {%- else %}
    -- media_attribution has not written credits yet: no conversions
    SELECT CAST(NULL AS varchar) AS campaign_id, CAST(NULL AS varchar) AS channel,
           CAST(NULL AS double) AS conversions, CAST(NULL AS double) AS revenue
    WHERE false
    {%- endif %}
),

weights AS (
    SELECT
        f.*,
        -- share of the row within its campaign x channel, and within its channel
        CASE
            WHEN sum(clicks) OVER cc > 0 THEN CAST(clicks AS double) / sum(clicks) OVER cc
            WHEN sum(impressions) OVER cc > 0 THEN CAST(impressions AS double) / sum(impressions) OVER cc
            WHEN sum(spend) OVER cc > 0 THEN spend / sum(spend) OVER cc
            ELSE 1.0 / count(*) OVER cc
        END AS campaign_channel_share,
        CASE
            WHEN sum(clicks) OVER ch > 0 THEN CAST(clicks AS double) / sum(clicks) OVER ch
            WHEN sum(impressions) OVER ch > 0 THEN CAST(impressions AS double) / sum(impressions) OVER ch
            WHEN sum(spend) OVER ch > 0 THEN spend / sum(spend) OVER ch
            ELSE 1.0 / count(*) OVER ch
        END AS channel_share
    FROM facts AS f
    WINDOW cc AS (PARTITION BY campaign_id, channel), ch AS (PARTITION BY channel)
),

attributed AS (
    SELECT
        w."date", w.campaign_id, w.channel, w.publisher_id, w.creative_id,
        w.impressions, w.clicks, w.spend,
        coalesce(by_campaign.conversions * w.campaign_channel_share, 0)
            + coalesce(by_channel.conversions * w.channel_share, 0) AS conversions,
        coalesce(by_campaign.revenue * w.campaign_channel_share, 0)
            + coalesce(by_channel.revenue * w.channel_share, 0) AS revenue
    FROM weights AS w
    LEFT JOIN credits AS by_campaign
        ON by_campaign.campaign_id = w.campaign_id AND by_campaign.channel = w.channel
    LEFT JOIN credits AS by_channel
        ON by_channel.campaign_id IS NULL AND by_channel.channel = w.channel
)

SELECT
    a."date",
    c.advertiser_id,
    a.campaign_id,
    a.channel,
    a.publisher_id,
    a.creative_id,
    CAST(a.impressions AS bigint) AS impressions,
    CAST(a.clicks AS bigint) AS clicks,
    CASE WHEN a.impressions > 0 THEN CAST(a.clicks AS double) / a.impressions END AS ctr,
    round(a.spend, 6) AS spend,
    CASE WHEN a.impressions > 0 THEN round(a.spend * 1000 / a.impressions, 6) END AS cpm,
    CASE WHEN a.clicks > 0 THEN round(a.spend / a.clicks, 6) END AS cpc,
    round(a.conversions, 9) AS conversions,
    CASE WHEN a.conversions > 0 THEN round(a.spend / a.conversions, 6) END AS cpa,
    round(a.revenue, 6) AS revenue,
    CASE WHEN a.spend > 0 THEN round(a.revenue / a.spend, 6) END AS roas,
    '{{ model | replace("'", "''") }}' AS model
FROM attributed AS a
LEFT JOIN campaigns AS c ON c.campaign_id = a.campaign_id
ORDER BY a."date", a.campaign_id, a.channel, a.publisher_id, a.creative_id
