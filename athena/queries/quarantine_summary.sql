-- Quarantined rows of a run by reason and field, with their share and one example.
-- @param run_id string = '' : the run ('' = the latest run)
WITH q AS (
    SELECT reason, coalesce(field, '') AS field, detail
    FROM quarantine
    WHERE run_id = (
        CASE WHEN :run_id = '' THEN (SELECT run_id FROM latest_runs) ELSE :run_id END
    )
),
total AS (
    SELECT count(*) AS n FROM q
)
SELECT
    q.reason,
    q.field,
    count(*) AS n_rows,
    CAST(count(*) AS double) / max(total.n) AS share,
    min(q.detail) AS example
FROM q
CROSS JOIN total
GROUP BY q.reason, q.field
ORDER BY n_rows DESC, q.reason, q.field
