-- The most frequent itemsets of each size in the latest run.
-- @param min_size int = 1 : smallest itemset size shown
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 10 : itemsets per size
WITH picked AS (
    SELECT i.size, i.segment, i.items, i."count", i.support
    FROM latest_itemsets AS i
    WHERE i.size >= :min_size
        AND (:segment = '' OR i.segment = :segment)
),
floors AS (  -- per size, the top_n-th support: no itemset below it can be in the top_n
    SELECT k.size, min(k.support) AS support_floor
    FROM (
        SELECT p.size, p.support, row_number() OVER (PARTITION BY p.size ORDER BY p.support DESC) AS n
        FROM picked AS p
    ) AS k
    WHERE k.n <= :top_n
    GROUP BY k.size
),
ranked AS (
    SELECT
        p.size,
        p.segment,
        array_join(p.items, ', ') AS items,
        p."count",
        p.support,
        row_number() OVER (
            PARTITION BY p.size
            ORDER BY p.support DESC, p."count" DESC, array_join(p.items, ', '), p.segment
        ) AS place
    FROM picked AS p
    JOIN floors AS f ON f.size = p.size AND p.support >= f.support_floor
)
SELECT size, place, segment, items, "count", support
FROM ranked
WHERE place <= :top_n
ORDER BY size, place
