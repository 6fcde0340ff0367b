-- What changed this week: the rules new, strengthened, weakened or gone in the runs of the days up to the latest run (the miner's rule_changes, each run against the previous run of its kind).
-- @param segment string = '' : only this segment ('' = every segment)
-- @param change string = '' : only this kind of change: new, strengthened, weakened or gone ('' = all)
-- @param days int = 7 : runs of this many days, ending on the latest run's date
-- @param top_n int = 100 : rows returned
WITH latest AS (
    SELECT
        l.dt,
        CAST(date_add('day', -:days, CAST(l.dt AS date)) AS varchar) AS before_week
    FROM latest_runs AS l
),
week AS (
    SELECT c.*
    FROM rule_changes AS c
    CROSS JOIN latest
    WHERE c.dt <= latest.dt  -- dt compared as the partition string, never cast per row
        AND c.dt > latest.before_week
        AND (:segment = '' OR c.segment = :segment)
        AND (:change = '' OR c.change = :change)
),
top AS (  -- ranked first: only the top_n rows are expanded
    SELECT
        w.dt,
        w.run_id,
        w.change,
        w.segment,
        array_join(w.antecedent, ', ') AS antecedent,
        array_join(w.consequent, ', ') AS consequent,
        w.lift_before,
        w.lift_after,
        w.lift_ratio,
        w.confidence_before,
        w.confidence_after,
        w.confidence_delta,
        w.confidence_change_p,
        w.count_before,
        w.count_after,
        w.fisher_p_adjusted,
        w.previous_dt,
        CASE w.change
            WHEN 'new' THEN 1
            WHEN 'strengthened' THEN 2
            WHEN 'weakened' THEN 3
            WHEN 'gone' THEN 4
            ELSE 5
        END AS kind_order,
        abs(coalesce(w.lift_after, 0) - coalesce(w.lift_before, 0)) AS lift_move
    FROM week AS w
    ORDER BY kind_order, lift_move DESC, w.dt DESC, w.segment,
        array_join(w.antecedent, ', '), array_join(w.consequent, ', '), w.run_id
    LIMIT :top_n
)
SELECT
    row_number() OVER (
        ORDER BY t.kind_order, t.lift_move DESC, t.dt DESC, t.segment, t.antecedent,
            t.consequent, t.run_id
    ) AS place,
    t.dt, t.run_id, t.change, t.segment, t.antecedent, t.consequent,
    t.lift_before, t.lift_after, t.lift_ratio,
    t.confidence_before, t.confidence_after, t.confidence_delta, t.confidence_change_p,
    t.count_before, t.count_after, t.fisher_p_adjusted, t.previous_dt
FROM top AS t
ORDER BY place
