-- The most frequent itemsets of each size in the latest run.
-- @param min_size int = 1 : smallest itemset size shown
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 10 : itemsets per size
WITH ranked AS (
    SELECT
        i.size,
        i.segment,
        array_join(i.items, ', ') AS items,
        i."count",
        i.support,
        row_number() OVER (
            PARTITION BY i.size
            ORDER BY i.support DESC, i."count" DESC, array_join(i.items, ', '), i.segment
        ) AS place
    FROM latest_itemsets AS i
    WHERE i.size >= :min_size
        AND (:segment = '' OR i.segment = :segment)
)
SELECT size, place, segment, items, "count", support
FROM ranked
WHERE place <= :top_n
ORDER BY size, place
