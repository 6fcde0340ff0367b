-- The most frequent itemsets of one run, optionally of one segment and a minimum size.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param min_size int = 1 : smallest itemset size shown
-- @param top_n int = 20 : rows returned
WITH ranked AS (
    SELECT
        i.segment,
        array_join(i.items, ', ') AS items,
        i.size,
        i."count",
        i.support,
        row_number() OVER (
            ORDER BY i.support DESC, i."count" DESC, i.size DESC,
                array_join(i.items, ', '), i.segment
        ) AS place
    FROM itemsets AS i
    WHERE i.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND i.size >= :min_size
        AND (:segment = '' OR i.segment = :segment)
)
SELECT place, segment, items, size, "count", support
FROM ranked
WHERE place <= :top_n
ORDER BY place
