-- Frequent single items of one run, most baskets first (the items a lookup can pick).
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 500 : rows returned
WITH per_item AS (
    SELECT element_at(i.items, 1) AS item, sum(i."count") AS baskets
    FROM itemsets AS i
    WHERE i.size = 1
        AND i.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND (:segment = '' OR i.segment = :segment)
    GROUP BY element_at(i.items, 1)
),
ranked AS (
    SELECT item, baskets, row_number() OVER (ORDER BY baskets DESC, item) AS place
    FROM per_item
)
SELECT place, item, baskets
FROM ranked
WHERE place <= :top_n
ORDER BY place
