-- Profiles: the profile inputs (profile_base.sql) with the model scores the engine computed per customer
-- (lifetime value predictions, RFM quintile scores, value tier) and the person's lifecycle stage.
--
-- Params: base_table, scores_table (person_id, p_alive, predicted_purchases_12m, predicted_avg_value,
-- predicted_ltv_12m, r_score, f_score, m_score, ltv_tier); lifecycle thresholds new_max_days,
-- active_max_days, lapsed_min_days, loyal_min_purchase_days (segments.yaml settings.lifecycle).
SELECT
    b.*,
    s.p_alive,
    s.predicted_purchases_12m,
    s.predicted_avg_value,
    s.predicted_ltv_12m,
    s.r_score,
    s.f_score,
    s.m_score,
    CAST(s.r_score AS varchar) || CAST(s.f_score AS varchar) || CAST(s.m_score AS varchar) AS rfm_cell,
    coalesce(s.ltv_tier, 'none') AS ltv_tier,
    CASE
        WHEN NOT b.is_customer THEN 'prospect'
        WHEN b.purchase_days = 1 AND b.tenure_days <= {{ params.new_max_days | int }} THEN 'new'
        WHEN b.recency_days > {{ params.lapsed_min_days | int }} THEN 'lapsed'
        WHEN b.recency_days > {{ params.active_max_days | int }} THEN 'at_risk'
        WHEN b.purchase_days >= {{ params.loyal_min_purchase_days | int }} THEN 'loyal'
        ELSE 'active'
    END AS lifecycle
FROM {{ params.base_table }} AS b
LEFT JOIN {{ params.scores_table }} AS s ON s.person_id = b.person_id
