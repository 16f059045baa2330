-- Daily spend per channel over the history window that response curves are fitted on.
--
-- Params: spend_table ("date", campaign_id, channel, publisher_id, spend), history_days.
SELECT
    CAST("date" AS date) AS spend_date,
    channel,
    sum(spend) AS spend
FROM {{ params.spend_table }}
WHERE CAST("date" AS date) > DATE '{{ ds }}' - INTERVAL '{{ params.history_days | int }}' DAY
  AND CAST("date" AS date) <= DATE '{{ ds }}'
GROUP BY CAST("date" AS date), channel
ORDER BY spend_date, channel
