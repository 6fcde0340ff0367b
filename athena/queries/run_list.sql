-- Mining runs, latest first (newest data date, then newest finish), with their headline counts.
-- @param top_n int = 50 : rows returned
WITH top AS (
    SELECT
        r.run_id,
        r.dt,
        r.status,
        r.finished_at,
        r.baskets,
        r.itemsets,
        r.rules,
        r.rejected_rows
    FROM runs AS r
    ORDER BY r.dt DESC, r.finished_at DESC, r.run_id DESC
    LIMIT :top_n
)
SELECT
    row_number() OVER (ORDER BY t.dt DESC, t.finished_at DESC, t.run_id DESC) AS place,
    t.run_id, t.dt, t.status, t.finished_at, t.baskets, t.itemsets, t.rules, t.rejected_rows
FROM top AS t
ORDER BY place
