-- Interest prevalence per segment and for everyone: of the people with any publisher interest, the
-- share who have each interest, and its lift over everyone's share.
--
-- Params: members_table (segment_id, person_id), profiles_table.
WITH members AS (
    SELECT m.segment_id, p.interests
    FROM {{ params.members_table }} AS m
    JOIN {{ params.profiles_table }} AS p ON p.person_id = m.person_id
    WHERE cardinality(p.interests) > 0
),

segment_base AS (
    SELECT segment_id, count(*) AS with_interests FROM members GROUP BY segment_id
),

segment_counts AS (
    SELECT m.segment_id, u.interest, count(*) AS people
    FROM members AS m
    CROSS JOIN UNNEST(m.interests) AS u(interest)
    GROUP BY m.segment_id, u.interest
),

everyone AS (
    SELECT u.interest, count(*) AS people
    FROM {{ params.profiles_table }} AS p
    CROSS JOIN UNNEST(p.interests) AS u(interest)
    GROUP BY u.interest
),

everyone_base AS (
    SELECT count(*) AS with_interests FROM {{ params.profiles_table }} WHERE cardinality(interests) > 0
)

SELECT
    c.segment_id,
    c.interest,
    c.people,
    CAST(c.people AS double) / b.with_interests AS share,
    (CAST(c.people AS double) / b.with_interests) / (CAST(e.people AS double) / eb.with_interests) AS lift
FROM segment_counts AS c
JOIN segment_base AS b ON b.segment_id = c.segment_id
JOIN everyone AS e ON e.interest = c.interest
CROSS JOIN everyone_base AS eb
