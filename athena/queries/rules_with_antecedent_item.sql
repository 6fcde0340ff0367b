-- Rules of the latest run whose antecedent contains an item, strongest first.
-- @param item string : the item that must be in the antecedent
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 50 : rows returned
WITH top AS (  -- ranked first: only the top_n rows are expanded (DuckDB skips row groups)
    SELECT
        r.segment,
        array_join(r.antecedent, ', ') AS antecedent,
        array_join(r.consequent, ', ') AS consequent,
        r.support,
        r.confidence,
        r.lift
    FROM latest_rules AS r
    WHERE contains(r.antecedent, :item)
        AND r.confidence >= :min_confidence
        AND (:segment = '' OR r.segment = :segment)
    ORDER BY r.lift DESC, r.confidence DESC,
        array_join(r.antecedent, ', '), array_join(r.consequent, ', '), r.segment
    LIMIT :top_n
)
SELECT
    row_number() OVER (
        ORDER BY t.lift DESC, t.confidence DESC, t.antecedent, t.consequent, t.segment
    ) AS place,
    t.segment, t.antecedent, t.consequent, t.support, t.confidence, t.lift
FROM top AS t
ORDER BY place
