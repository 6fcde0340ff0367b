-- Segments of the latest run side by side: rules, lift, itemsets and the strongest rule.
-- @param min_support double = 0.0 : minimum rule support
-- @param min_confidence double = 0.0 : minimum rule confidence
WITH per_segment AS (
    SELECT segment, count(*) AS rules, avg(lift) AS avg_lift, max(lift) AS max_lift
    FROM latest_rules
    WHERE support >= :min_support AND confidence >= :min_confidence
    GROUP BY segment
),
strongest AS (  -- the strongest rule has the segment's top lift: only those are expanded
    SELECT
        r.segment,
        array_join(r.antecedent, ', ') || ' -> ' || array_join(r.consequent, ', ') AS rule,
        row_number() OVER (
            PARTITION BY r.segment
            ORDER BY r.lift DESC, r.confidence DESC,
                array_join(r.antecedent, ', '), array_join(r.consequent, ', ')
        ) AS place
    FROM latest_rules AS r
    JOIN per_segment AS p ON p.segment = r.segment AND r.lift = p.max_lift
    WHERE r.support >= :min_support AND r.confidence >= :min_confidence
),
sets AS (
    SELECT segment, count(*) AS itemsets, max(size) AS max_itemset_size
    FROM latest_itemsets
    GROUP BY segment
)
SELECT
    coalesce(p.segment, s.segment) AS segment,
    coalesce(p.rules, 0) AS rules,
    coalesce(s.itemsets, 0) AS itemsets,
    s.max_itemset_size,
    p.avg_lift,
    p.max_lift,
    b.rule AS strongest_rule
FROM per_segment AS p
LEFT JOIN strongest AS b ON b.segment = p.segment AND b.place = 1
FULL OUTER JOIN sets AS s ON s.segment = p.segment
ORDER BY segment
