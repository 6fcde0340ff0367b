-- Rule changes of one run against the previous run of its kind (the miner's rule_changes): new, strengthened, weakened, gone.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param change string = '' : only this kind of change: new, strengthened, weakened or gone ('' = all)
-- @param top_n int = 1000 : rows returned
WITH ranked AS (
    SELECT
        c.run_id,
        c.change,
        c.segment,
        array_join(c.antecedent, ', ') AS antecedent,
        array_join(c.consequent, ', ') AS consequent,
        c.lift_before,
        c.lift_after,
        c.lift_ratio,
        c.confidence_before,
        c.confidence_after,
        c.confidence_delta,
        c.confidence_change_p,
        c.count_before,
        c.count_after,
        c.fisher_p_adjusted,
        c.previous_run_id,
        c.previous_dt,
        row_number() OVER (
            ORDER BY
                CASE c.change
                    WHEN 'new' THEN 1
                    WHEN 'strengthened' THEN 2
                    WHEN 'weakened' THEN 3
                    WHEN 'gone' THEN 4
                    ELSE 5
                END,
                abs(coalesce(c.lift_after, 0) - coalesce(c.lift_before, 0)) DESC,
                c.segment, array_join(c.antecedent, ', '), array_join(c.consequent, ', ')
        ) AS place
    FROM rule_changes AS c
    WHERE c.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND (:segment = '' OR c.segment = :segment)
        AND (:change = '' OR c.change = :change)
)
SELECT
    place, run_id, change, segment, antecedent, consequent,
    lift_before, lift_after, lift_ratio,
    confidence_before, confidence_after, confidence_delta, confidence_change_p,
    count_before, count_after, fisher_p_adjusted, previous_run_id, previous_dt
FROM ranked
WHERE place <= :top_n
ORDER BY place
