-- The most frequent itemsets of one run, optionally of one segment and a minimum size.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param min_size int = 1 : smallest itemset size shown
-- @param top_n int = 20 : rows returned
WITH top AS (  -- ranked first: only the top_n rows are expanded (DuckDB skips row groups)
    SELECT
        i.segment,
        array_join(i.items, ', ') AS items,
        i.size,
        i."count",
        i.support
    FROM itemsets AS i
    WHERE i.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND i.size >= :min_size
        AND (:segment = '' OR i.segment = :segment)
    ORDER BY i.support DESC, i."count" DESC, i.size DESC, array_join(i.items, ', '), i.segment
    LIMIT :top_n
)
SELECT
    row_number() OVER (
        ORDER BY t.support DESC, t."count" DESC, t.size DESC, t.items, t.segment
    ) AS place,
    t.segment, t.items, t.size, t."count", t.support
FROM top AS t
ORDER BY place
