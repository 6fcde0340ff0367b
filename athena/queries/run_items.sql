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
top AS (
    SELECT item, baskets FROM per_item ORDER BY baskets DESC, item LIMIT :top_n
)
SELECT row_number() OVER (ORDER BY t.baskets DESC, t.item) AS place, t.item, t.baskets
FROM top AS t
ORDER BY place
