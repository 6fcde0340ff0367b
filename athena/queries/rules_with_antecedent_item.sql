-- Rules of the latest run whose antecedent contains an item, strongest first.
-- @param item string : the item that must be in the antecedent
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 50 : rows returned
WITH ranked AS (
    SELECT
        r.segment,
        array_join(r.antecedent, ', ') AS antecedent,
        array_join(r.consequent, ', ') AS consequent,
        r.support,
        r.confidence,
        r.lift,
        row_number() OVER (
            ORDER BY r.lift DESC, r.confidence DESC,
                array_join(r.antecedent, ', '), array_join(r.consequent, ', '), r.segment
        ) AS place
    FROM latest_rules AS r
    WHERE contains(r.antecedent, :item)
        AND r.confidence >= :min_confidence
        AND (:segment = '' OR r.segment = :segment)
)
SELECT place, segment, antecedent, consequent, support, confidence, lift
FROM ranked
WHERE place <= :top_n
ORDER BY place
