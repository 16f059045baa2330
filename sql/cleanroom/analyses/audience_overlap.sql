-- Audience overlap (aggregation rule, run by the agency): the advertiser's customers whom the publisher's
-- audience matches on hashed email or hashed phone, counted on both sides. Clean Rooms SQL, rendered with
-- Jinja only; the clean room adds the output constraints (each count >= its table's minimum).
SELECT
    COUNT(DISTINCT c.email_sha256) AS matched_customers,
    COUNT(DISTINCT p.email_sha256) AS matched_audience
FROM advertiser_customers c
INNER JOIN publisher_audience p
    ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256
