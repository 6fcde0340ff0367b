-- Rules of one run above support, confidence and lift floors, for an item text or segment.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param min_support double = 0.0 : minimum rule support (fraction of baskets)
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param min_lift double = 0.0 : minimum rule lift
-- @param item string = '' : only rules with an item containing this text, any case ('' = all)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param max_p double = 1.0 : largest adjusted Fisher p-value (1.0 = every rule, also those of runs without p-values)
-- @param include_redundant int = 1 : 0 = leave out redundant rules (improvement <= 0)
-- @param top_n int = 1000 : rows returned
WITH top AS (  -- ranked first: only the top_n rows are expanded (DuckDB skips row groups)
    SELECT
        r.run_id,
        r.segment,
        array_join(r.antecedent, ', ') AS antecedent,
        array_join(r.consequent, ', ') AS consequent,
        r.support,
        r.confidence,
        r.lift,
        r.leverage,
        r.conviction,
        r."count",
        r.fisher_p_adjusted,
        r.improvement,
        r.redundant
    FROM rules AS r
    WHERE r.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND r.support >= :min_support
        AND r.confidence >= :min_confidence
        AND r.lift >= :min_lift
        AND (:segment = '' OR r.segment = :segment)
        AND (:max_p >= 1.0 OR r.fisher_p_adjusted <= :max_p)
        AND (:include_redundant <> 0 OR NOT coalesce(r.redundant, false))
        AND (
            :item = ''
            OR strpos(
                lower(array_join(r.antecedent, '|') || '|' || array_join(r.consequent, '|')),
                lower(:item)
            ) > 0
        )
    ORDER BY r.lift DESC, r.confidence DESC, r.support DESC,
        array_join(r.antecedent, ', '), array_join(r.consequent, ', '), r.segment
    LIMIT :top_n
)
SELECT
    row_number() OVER (
        ORDER BY t.lift DESC, t.confidence DESC, t.support DESC,
            t.antecedent, t.consequent, t.segment
    ) AS place,
    t.run_id, t.segment, t.antecedent, t.consequent,
    t.support, t.confidence, t.lift, t.leverage, t.conviction, t."count",
    t.fisher_p_adjusted, t.improvement, t.redundant
FROM top AS t
ORDER BY place
