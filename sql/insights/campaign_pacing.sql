-- Pacing per campaign and channel: the media plan to date against actual delivery, as of the end of
-- ds. The `campaign_pacing` mart.
--
--   * Plan: curated_media_plan at its latest partition on or before ds; a plan line (campaign,
--     channel, publisher) spends its planned_budget and delivers its planned_impressions evenly over
--     its flight (start_date..end_date, inclusive). planned_*_to_date sums the lines' shares of the
--     days elapsed by the end of ds.
--   * Actual: the spend table (latest delivered version of each date x campaign x channel x
--     publisher), its spend and impressions on dates within the campaign x channel flight, up to ds.
--   * projected_spend = actual_spend + run rate (actual_spend / elapsed_days) x remaining_days: the
--     end-of-flight spend if delivery keeps its pace. pacing_ratio = actual_spend /
--     planned_spend_to_date (1 = on plan; NULL before the flight starts); impressions likewise.
--
-- Params: none.
WITH plan_lines AS (
    SELECT
        campaign_id, channel, publisher_id,
        CAST(start_date AS date) AS start_date,
        CAST(end_date AS date) AS end_date,
        CAST(planned_budget AS double) AS planned_budget,
        CAST(planned_impressions AS double) AS planned_impressions,
        date_diff('day', CAST(start_date AS date), CAST(end_date AS date)) + 1 AS line_days,
        greatest(0, least(
            date_diff('day', CAST(start_date AS date), DATE '{{ ds }}') + 1,
            date_diff('day', CAST(start_date AS date), CAST(end_date AS date)) + 1
        )) AS line_elapsed_days
    FROM curated_media_plan
    WHERE dt = (SELECT max(dt) FROM curated_media_plan WHERE dt <= '{{ ds }}')
      AND end_date >= start_date
),

plan AS (
    SELECT
        campaign_id,
        channel,
        min(start_date) AS flight_start,
        max(end_date) AS flight_end,
        sum(planned_budget) AS planned_budget,
        sum(planned_impressions) AS planned_impressions,
        sum(planned_budget * line_elapsed_days / line_days) AS planned_spend_to_date,
        sum(planned_impressions * line_elapsed_days / line_days) AS planned_impressions_to_date
    FROM plan_lines
    GROUP BY campaign_id, channel
),

spend AS (
    SELECT "date", campaign_id, channel, sum(spend) AS spend, sum(impressions) AS impressions
    FROM (
        SELECT CAST("date" AS date) AS "date", campaign_id, channel, publisher_id,
               CAST(spend AS double) AS spend, CAST(impressions AS double) AS impressions, dt,
               max(dt) OVER (PARTITION BY CAST("date" AS date), campaign_id, channel, publisher_id) AS latest_dt
        FROM curated_spend
        WHERE dt <= '{{ ds }}' AND CAST("date" AS date) <= DATE '{{ ds }}'
    ) AS versions
    WHERE dt = latest_dt
    GROUP BY 1, 2, 3
),

actual AS (
    SELECT
        p.campaign_id,
        p.channel,
        coalesce(sum(s.spend), 0) AS actual_spend,
        coalesce(sum(s.impressions), 0) AS actual_impressions
    FROM plan AS p
    LEFT JOIN spend AS s
        ON s.campaign_id = p.campaign_id AND s.channel = p.channel
       AND s."date" BETWEEN p.flight_start AND p.flight_end
    GROUP BY p.campaign_id, p.channel
),

paced AS (
    SELECT
        p.*,
        a.actual_spend,
        a.actual_impressions,
        date_diff('day', p.flight_start, p.flight_end) + 1 AS flight_days,
        greatest(0, least(
            date_diff('day', p.flight_start, DATE '{{ ds }}') + 1,
            date_diff('day', p.flight_start, p.flight_end) + 1
        )) AS elapsed_days
    FROM plan AS p
    JOIN actual AS a ON a.campaign_id = p.campaign_id AND a.channel = p.channel
)

SELECT
    campaign_id,
    channel,
    flight_start,
    flight_end,
    CAST(flight_days AS bigint) AS flight_days,
    CAST(elapsed_days AS bigint) AS elapsed_days,
    CASE
        WHEN elapsed_days = 0 THEN 'not_started'
        WHEN elapsed_days >= flight_days THEN 'ended'
        ELSE 'in_flight'
    END AS status,
    round(planned_budget, 6) AS planned_budget,
    round(planned_spend_to_date, 6) AS planned_spend_to_date,
    round(actual_spend, 6) AS actual_spend,
    CASE
        WHEN elapsed_days > 0
            THEN round(actual_spend + actual_spend / elapsed_days * (flight_days - elapsed_days), 6)
        ELSE 0
    END AS projected_spend,
    CASE WHEN planned_spend_to_date > 0 THEN round(actual_spend / planned_spend_to_date, 6) END AS pacing_ratio,
    CAST(round(planned_impressions) AS bigint) AS planned_impressions,
    round(planned_impressions_to_date, 3) AS planned_impressions_to_date,
    CAST(actual_impressions AS bigint) AS actual_impressions,
    CASE
        WHEN elapsed_days > 0
            THEN round(actual_impressions + actual_impressions / elapsed_days * (flight_days - elapsed_days), 3)
        ELSE 0
    END AS projected_impressions,
    CASE
        WHEN planned_impressions_to_date > 0 THEN round(actual_impressions / planned_impressions_to_date, 6)
    END AS impressions_pacing_ratio
FROM paced
ORDER BY campaign_id, channel
