-- Top rules of the latest run by lift, above support and confidence floors.
-- @param min_support double = 0.0 : minimum rule support (fraction of baskets)
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param segment string = '' : only this segment ('' = every segment)
-- @param max_p double = 1.0 : largest adjusted Fisher p-value (1.0 = every rule, also those of runs without p-values)
-- @param include_redundant int = 1 : 0 = leave out redundant rules (improvement <= 0)
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
        r.fisher_p_adjusted,
        r.improvement,
        r.redundant,
        row_number() OVER (
            ORDER BY r.lift DESC, r.confidence DESC, r.support DESC,
                array_join(r.antecedent, ', '), array_join(r.consequent, ', '), r.segment
        ) AS place
    FROM latest_rules AS r
    WHERE r.support >= :min_support
        AND r.confidence >= :min_confidence
        AND (:segment = '' OR r.segment = :segment)
        AND (:max_p >= 1.0 OR r.fisher_p_adjusted <= :max_p)
        AND (:include_redundant <> 0 OR NOT coalesce(r.redundant, false))
)
SELECT
    place, segment, antecedent, consequent, support, confidence, lift, "count",
    fisher_p_adjusted, improvement, redundant
FROM ranked
WHERE place <= :top_n
ORDER BY place
