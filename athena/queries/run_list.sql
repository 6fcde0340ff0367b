-- Mining runs, latest first (newest data date, then newest finish), with their headline counts.
-- @param top_n int = 50 : rows returned
WITH ranked AS (
    SELECT
        r.run_id,
        r.dt,
        r.status,
        r.finished_at,
        r.baskets,
        r.itemsets,
        r.rules,
        r.rejected_rows,
        row_number() OVER (ORDER BY r.dt DESC, r.finished_at DESC, r.run_id DESC) AS place
    FROM runs AS r
)
SELECT place, run_id, dt, status, finished_at, baskets, itemsets, rules, rejected_rows
FROM ranked
WHERE place <= :top_n
ORDER BY place
