-- Hashed activation identifiers per person with advertiser CRM records, and their ads consent. Raw
-- values are normalized and hashed here and never selected: downstream code only sees SHA-256 hex.
--
--   consent_ads          granted on some CRM record and refused on none (a withdrawal anywhere wins)
--   email_sha256         the latest valid normalized email (CRM emails are normalized by hygiene)
--   phone_e164_sha256    the latest phone in E.164 ('+12125550134', as hygiene writes it)
--   phone_digits_sha256  the same number without '+': '12125550134'
--   maid_sha256          a mobile advertising id the graph linked to the person (an ad_devices record in
--                        UUID form: IDFA / GAID), lowercased; the smallest one when there are several
-- "Latest" is by signup_date, then customer_id, so reruns pick the same value.
{%- import 'audiences/_inputs.jinja' as inputs %}
WITH graph AS (
    SELECT source, record_id, person_id
    FROM {{ inputs.snapshot('identity_graph', ds) }} AS g
    WHERE person_id IS NOT NULL
),

crm AS (
    SELECT g.person_id, c.customer_id, c.email, c.email_valid, c.phone, c.signup_date, c.consent_ads
    FROM {{ inputs.snapshot('curated_crm_customers', ds) }} AS c
    JOIN graph AS g ON g.source = 'crm_customers' AND g.record_id = c.customer_id
),

person_keys AS (
    SELECT
        person_id,
        count_if(consent_ads) > 0 AND count_if(NOT consent_ads) = 0 AS consent_ads,
        max_by(lower(trim(email)), coalesce(CAST(signup_date AS varchar), '') || customer_id)
            FILTER (WHERE email IS NOT NULL AND trim(email) <> '' AND coalesce(email_valid, true)) AS email,
        max_by(trim(phone), coalesce(CAST(signup_date AS varchar), '') || customer_id)
            FILTER (WHERE phone IS NOT NULL AND trim(phone) <> '') AS phone
    FROM crm
    GROUP BY person_id
),

maids AS (
    SELECT person_id, min(lower(record_id)) AS maid
    FROM graph
    WHERE source = 'ad_devices'
      AND regexp_like(record_id, '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$')
      AND NOT regexp_like(record_id, '^[0-]+$')
    GROUP BY person_id
)

SELECT
    k.person_id,
    k.consent_ads,
    lower(to_hex(sha256(to_utf8(k.email)))) AS email_sha256,
    lower(to_hex(sha256(to_utf8(k.phone)))) AS phone_e164_sha256,
    lower(to_hex(sha256(to_utf8(regexp_replace(k.phone, '[^0-9]', ''))))) AS phone_digits_sha256,
    lower(to_hex(sha256(to_utf8(m.maid)))) AS maid_sha256
FROM person_keys AS k
LEFT JOIN maids AS m ON m.person_id = k.person_id
