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
top AS (
    SELECT p.segment, p.other_item, p.together, p.support
    FROM pairs AS p
    ORDER BY p.support DESC, p.together DESC, p.other_item, p.segment
    LIMIT :top_n
),
singles AS (
    SELECT s.segment, s."count" AS item_count
    FROM latest_itemsets AS s
    WHERE s.size = 1 AND element_at(s.items, 1) = :item
)
SELECT
    row_number() OVER (
        ORDER BY t.support DESC, t.together DESC, t.other_item, t.segment
    ) AS place,
    t.segment,
    t.other_item,
    t.together,
    t.support,
    CAST(t.together AS double) / x.item_count AS share_of_item_baskets
FROM top AS t
LEFT JOIN singles AS x ON x.segment = t.segment
ORDER BY place
