-- Segments of the latest run side by side: rules, lift, itemsets and the strongest rule.
-- @param min_support double = 0.0 : minimum rule support
-- @param min_confidence double = 0.0 : minimum rule confidence
WITH r AS (
    SELECT
        segment,
        array_join(antecedent, ', ') || ' -> ' || array_join(consequent, ', ') AS rule,
        lift,
        row_number() OVER (
            PARTITION BY segment
            ORDER BY lift DESC, confidence DESC,
                array_join(antecedent, ', '), array_join(consequent, ', ')
        ) AS place
    FROM latest_rules
    WHERE support >= :min_support AND confidence >= :min_confidence
),
per_segment AS (
    SELECT
        segment,
        count(*) AS rules,
        avg(lift) AS avg_lift,
        max(lift) AS max_lift,
        max(CASE WHEN place = 1 THEN rule END) AS strongest_rule
    FROM r
    GROUP BY segment
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
    p.strongest_rule
FROM per_segment AS p
FULL OUTER JOIN sets AS s ON s.segment = p.segment
ORDER BY segment
