-- Ad-log identifiers as an identity-resolution input: one row per device (or cookie) that identity
-- events (logins, newsletter clicks) linked to a hashed email, with the two emails it was linked to
-- most often. The matching workflow compares both with every other input's email hashes
-- (MANY_TO_MANY), so a device joins the person whose email signed in on it.
--
-- Params: id_column ('device_id' or 'cookie_id'). Output: curated_ad_devices / curated_ad_cookies.
WITH links AS (
    SELECT
        {{ params.id_column }} AS identifier,
        lower(trim(email_sha256)) AS email_sha256,
        count(*) AS events
    FROM curated_identity_events
    WHERE dt = '{{ ds }}'
      AND {{ params.id_column }} IS NOT NULL AND {{ params.id_column }} <> ''
      AND email_sha256 IS NOT NULL AND email_sha256 <> ''
    GROUP BY 1, 2
),
ranked AS (
    SELECT
        identifier,
        email_sha256,
        events,
        row_number() OVER (PARTITION BY identifier ORDER BY events DESC, email_sha256) AS rank
    FROM links
)
SELECT
    identifier AS {{ params.id_column }},
    max(CASE WHEN rank = 1 THEN email_sha256 END) AS email_sha256,
    max(CASE WHEN rank = 2 THEN email_sha256 END) AS email_sha256_alt,
    count(*) AS linked_emails,
    CAST(sum(events) AS BIGINT) AS link_events
FROM ranked
GROUP BY identifier
