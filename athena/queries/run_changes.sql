-- Rule changes of one run against the previous run of its kind (the miner's rule_changes): new, strengthened, weakened, gone.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param change string = '' : only this kind of change: new, strengthened, weakened or gone ('' = all)
-- @param top_n int = 1000 : rows returned
WITH top AS (  -- ranked first: only the top_n rows are expanded
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
        CASE c.change
            WHEN 'new' THEN 1
            WHEN 'strengthened' THEN 2
            WHEN 'weakened' THEN 3
            WHEN 'gone' THEN 4
            ELSE 5
        END AS kind_order,
        abs(coalesce(c.lift_after, 0) - coalesce(c.lift_before, 0)) AS lift_move
    FROM rule_changes AS c
    WHERE c.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND (:segment = '' OR c.segment = :segment)
        AND (:change = '' OR c.change = :change)
    ORDER BY kind_order, lift_move DESC, c.segment,
        array_join(c.antecedent, ', '), array_join(c.consequent, ', ')
    LIMIT :top_n
)
SELECT
    row_number() OVER (
        ORDER BY t.kind_order, t.lift_move DESC, t.segment, t.antecedent, t.consequent
    ) AS place,
    t.run_id, t.change, t.segment, t.antecedent, t.consequent,
    t.lift_before, t.lift_after, t.lift_ratio,
    t.confidence_before, t.confidence_after, t.confidence_delta, t.confidence_change_p,
    t.count_before, t.count_after, t.fisher_p_adjusted, t.previous_run_id, t.previous_dt
FROM top AS t
ORDER BY place
