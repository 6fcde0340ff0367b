-- Item-to-item edges of one run's rules (every antecedent item to every consequent item).
-- @param run_id string = '' : the run ('' = the latest run)
-- @param min_support double = 0.0 : minimum rule support (fraction of baskets)
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param min_lift double = 0.0 : minimum rule lift
-- @param segment string = '' : only this segment ('' = every segment)
-- @param max_p double = 1.0 : largest adjusted Fisher p-value (1.0 = every rule, also those of runs without p-values)
-- @param include_redundant int = 1 : 0 = leave out redundant rules (improvement <= 0)
-- @param top_n int = 200 : edges returned, strongest first
WITH edges AS (
    SELECT
        a.item AS source,
        c.item AS target,
        count(*) AS rules,
        max(r.lift) AS lift,
        max(r.confidence) AS confidence,
        max(r.support) AS support
    FROM rules AS r
    CROSS JOIN UNNEST(r.antecedent) AS a (item)
    CROSS JOIN UNNEST(r.consequent) AS c (item)
    WHERE r.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND r.support >= :min_support
        AND r.confidence >= :min_confidence
        AND r.lift >= :min_lift
        AND (:segment = '' OR r.segment = :segment)
        AND (:max_p >= 1.0 OR r.fisher_p_adjusted <= :max_p)
        AND (:include_redundant <> 0 OR NOT coalesce(r.redundant, false))
    GROUP BY a.item, c.item
),
ranked AS (
    SELECT
        e.*,
        row_number() OVER (ORDER BY e.lift DESC, e.confidence DESC, e.source, e.target) AS place
    FROM edges AS e
)
SELECT place, source, target, rules, lift, confidence, support
FROM ranked
WHERE place <= :top_n
ORDER BY place
