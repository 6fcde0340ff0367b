-- Top rules of the latest run by lift, above support and confidence floors.
-- @param min_support double = 0.0 : minimum rule support (fraction of baskets)
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 20 : rows returned
WITH ranked AS (
    SELECT
        r.segment,
        array_join(r.antecedent, ', ') AS antecedent,
        array_join(r.consequent, ', ') AS consequent,
        r.support,
        r.confidence,
        r.lift,
        r."count",
        row_number() OVER (
            ORDER BY r.lift DESC, r.confidence DESC, r.support DESC,
                array_join(r.antecedent, ', '), array_join(r.consequent, ', '), r.segment
        ) AS place
    FROM latest_rules AS r
    WHERE r.support >= :min_support
        AND r.confidence >= :min_confidence
        AND (:segment = '' OR r.segment = :segment)
)
SELECT place, segment, antecedent, consequent, support, confidence, lift, "count"
FROM ranked
WHERE place <= :top_n
ORDER BY place
