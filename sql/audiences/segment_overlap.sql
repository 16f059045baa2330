-- The segment overlap matrix in long form: one row per ordered pair of segments (the diagonal included,
-- where overlap = size), so the matrix is symmetric by construction and empty segments still appear.
--
-- Params: members_table (segment_id, person_id; a person at most once per segment), segment_ids.
WITH segments AS (
    SELECT segment_id FROM (VALUES {% for id in params.segment_ids %}('{{ id }}'){{ ", " if not loop.last }}{% endfor %}) AS s(segment_id)
),

sizes AS (
    SELECT s.segment_id, count(m.person_id) AS size
    FROM segments AS s
    LEFT JOIN {{ params.members_table }} AS m ON m.segment_id = s.segment_id
    GROUP BY s.segment_id
),

pairs AS (
    SELECT a.segment_id AS segment_a, b.segment_id AS segment_b, count(*) AS overlap
    FROM {{ params.members_table }} AS a
    JOIN {{ params.members_table }} AS b ON b.person_id = a.person_id
    GROUP BY a.segment_id, b.segment_id
)

SELECT
    sa.segment_id AS segment_a,
    sb.segment_id AS segment_b,
    CAST(coalesce(p.overlap, 0) AS bigint) AS overlap,
    CAST(sa.size AS bigint) AS size_a,
    CAST(sb.size AS bigint) AS size_b,
    CAST(coalesce(p.overlap, 0) AS double) / nullif(sa.size + sb.size - coalesce(p.overlap, 0), 0) AS jaccard,
    CAST(coalesce(p.overlap, 0) AS double) / nullif(sa.size, 0) AS share_of_a
FROM sizes AS sa
CROSS JOIN sizes AS sb
LEFT JOIN pairs AS p ON p.segment_a = sa.segment_id AND p.segment_b = sb.segment_id
