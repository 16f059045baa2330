-- Return on ad spend and cost per acquisition per model, channel and campaign, and per model and
-- channel (campaign_id NULL), from attribution credits and the spend table over the analysis window.
-- A credit without a campaign (e.g. a channel-level Markov credit) counts in its channel's total only.
--
-- Params: credits_table (model, channel, campaign_id, conversions, value), spend_table
-- ("date", campaign_id, channel, publisher_id, spend), lookback_days; optional analysis_days
-- (default lookback_days): spend dates in (ds - analysis_days, ds].
{%- set analysis_days = params.analysis_days | default(params.lookback_days, true) | int %}
WITH credits AS (
    SELECT model, channel, campaign_id, sum(conversions) AS conversions, sum(value) AS value
    FROM {{ params.credits_table }}
    GROUP BY model, channel, campaign_id
),

spend AS (
    SELECT channel, campaign_id, sum(spend) AS spend
    FROM {{ params.spend_table }}
    WHERE CAST("date" AS date) > DATE '{{ ds }}' - INTERVAL '{{ analysis_days }}' DAY
      AND CAST("date" AS date) <= DATE '{{ ds }}'
    GROUP BY channel, campaign_id
),

-- every model sees all the spend, also on campaigns it credits nothing
model_spend AS (
    SELECT m.model, s.channel, s.campaign_id, s.spend
    FROM (SELECT DISTINCT model FROM credits) AS m
    CROSS JOIN spend AS s
),

joined AS (
    SELECT
        coalesce(c.model, s.model) AS model,
        coalesce(c.channel, s.channel) AS channel,
        coalesce(c.campaign_id, s.campaign_id) AS campaign_id,
        coalesce(s.spend, 0) AS spend,
        coalesce(c.conversions, 0) AS conversions,
        coalesce(c.value, 0) AS value
    FROM credits AS c
    FULL OUTER JOIN model_spend AS s
        ON c.model = s.model AND c.channel = s.channel AND c.campaign_id = s.campaign_id
),

rolled_up AS (
    SELECT
        model,
        channel,
        campaign_id,
        grouping(campaign_id) = 1 AS is_channel_total,
        sum(spend) AS spend,
        sum(conversions) AS conversions,
        sum(value) AS value
    FROM joined
    GROUP BY GROUPING SETS ((model, channel, campaign_id), (model, channel))
)

SELECT
    model,
    channel,
    CASE WHEN is_channel_total THEN NULL ELSE campaign_id END AS campaign_id,
    spend,
    conversions,
    value,
    CASE WHEN spend > 0 THEN value / spend END AS roas,
    CASE WHEN conversions > 0 THEN spend / conversions END AS cpa
FROM rolled_up
WHERE NOT (campaign_id IS NULL AND NOT is_channel_total)
ORDER BY model, channel, is_channel_total DESC, campaign_id
