-- Items most often bought together with an item (frequent pairs of the latest run).
-- @param item string : the item
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 20 : rows returned
WITH pairs AS (
    SELECT
        i.segment,
        CASE
            WHEN element_at(i.items, 1) = :item THEN element_at(i.items, 2)
            ELSE element_at(i.items, 1)
        END AS other_item,
        i."count" AS together,
        i.support
    FROM latest_itemsets AS i
    WHERE i.size = 2
        AND contains(i.items, :item)
        AND (:segment = '' OR i.segment = :segment)
),
singles AS (
    SELECT s.segment, element_at(s.items, 1) AS item, s."count" AS item_count
    FROM latest_itemsets AS s
    WHERE s.size = 1
),
ranked AS (
    SELECT
        p.segment,
        p.other_item,
        p.together,
        p.support,
        CAST(p.together AS double) / x.item_count AS share_of_item_baskets,
        row_number() OVER (
            ORDER BY p.support DESC, p.together DESC, p.other_item, p.segment
        ) AS place
    FROM pairs AS p
    LEFT JOIN singles AS x ON x.segment = p.segment AND x.item = :item
)
SELECT place, segment, other_item, together, support, share_of_item_baskets
FROM ranked
WHERE place <= :top_n
ORDER BY place
