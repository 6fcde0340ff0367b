-- Rule changes between two runs: new, vanished, strengthened and weakened (by lift); the top_n largest lift moves, listed by kind and rule.
-- @param run_a string : the earlier run id
-- @param run_b string : the later run id
-- @param min_lift_change double = 0.0 : a lift change must exceed this to be reported
-- @param change string = '' : only this kind of change: new, vanished, strengthened or weakened ('' = all)
-- @param segment string = '' : only this segment ('' = every segment)
-- @param top_n int = 1000 : rows returned, the largest lift moves first (a new or vanished rule moves by its whole lift)
WITH keyed AS (  -- 1 when both runs have every rule's rule_key (runs mined before it was written have none)
    SELECT CASE WHEN count_if(r.rule_key IS NULL) = 0 THEN 1 ELSE 0 END AS ok
    FROM rules AS r
    WHERE r.run_id IN (:run_a, :run_b)
),
moved AS (  -- each side read once, in its own scan (a shared CTE would be materialized)
    SELECT
        coalesce(b.key_id, a.key_id) AS key_id,
        CAST(NULL AS varchar) AS key_text,
        a.lift AS lift_a,
        b.lift AS lift_b
    FROM (  -- the run's rules on the integer key (a join on the items is ~5x slower)
        SELECT r.rule_key AS key_id, r.lift
        FROM rules AS r
        WHERE r.run_id = :run_a
            AND (:segment = '' OR r.segment = :segment)
    ) AS a
    FULL OUTER JOIN (  -- the run's rules on the integer key (a join on the items is ~5x slower)
        SELECT r.rule_key AS key_id, r.lift
        FROM rules AS r
        WHERE r.run_id = :run_b
            AND (:segment = '' OR r.segment = :segment)
    ) AS b
        ON a.key_id = b.key_id
    WHERE (SELECT k.ok FROM keyed AS k) = 1  -- after the join: a filter per scanned row costs more
    UNION ALL
    SELECT
        CAST(NULL AS bigint) AS key_id,
        coalesce(b.key_text, a.key_text) AS key_text,
        a.lift AS lift_a,
        b.lift AS lift_b
    FROM (  -- the same on the rules' text, for runs without keys
        SELECT
            concat(
                r.segment, chr(31), array_join(r.antecedent, chr(30)), chr(31),
                array_join(r.consequent, chr(30))
            ) AS key_text,
            r.lift
        FROM rules AS r
        WHERE r.run_id = :run_a
            AND (:segment = '' OR r.segment = :segment)
            AND (SELECT k.ok FROM keyed AS k) = 0
    ) AS a
    FULL OUTER JOIN (  -- the same on the rules' text, for runs without keys
        SELECT
            concat(
                r.segment, chr(31), array_join(r.antecedent, chr(30)), chr(31),
                array_join(r.consequent, chr(30))
            ) AS key_text,
            r.lift
        FROM rules AS r
        WHERE r.run_id = :run_b
            AND (:segment = '' OR r.segment = :segment)
            AND (SELECT k.ok FROM keyed AS k) = 0
    ) AS b
        ON a.key_text = b.key_text
),
classified AS (
    SELECT
        m.key_id,
        m.key_text,
        m.lift_a,
        m.lift_b,
        CASE
            WHEN m.lift_a IS NULL THEN 'new'
            WHEN m.lift_b IS NULL THEN 'vanished'
            WHEN m.lift_b - m.lift_a > :min_lift_change THEN 'strengthened'
            WHEN m.lift_a - m.lift_b > :min_lift_change THEN 'weakened'
        END AS change
    FROM moved AS m
),
top AS (  -- ranked on the keys alone: the rules' items are read for these rows only
    SELECT c.key_id, c.key_text, c.lift_a, c.lift_b, c.change
    FROM classified AS c
    WHERE c.change IS NOT NULL
        AND (:change = '' OR c.change = :change)
    ORDER BY abs(coalesce(c.lift_b, 0) - coalesce(c.lift_a, 0)) DESC, c.key_id, c.key_text
    LIMIT :top_n
),
detail AS (  -- the top rows with their rule in each run (one row per run that has it); the
    -- join on lift too lets a reader skip the row groups (sorted by lift) that cannot match
    SELECT t.key_id, t.key_text, t.change, t.lift_a, t.lift_b, r.run_id, r.segment,
        r.antecedent, r.consequent, r.confidence
    FROM rules AS r
    INNER JOIN top AS t ON t.key_id = r.rule_key AND r.lift = t.lift_a
    WHERE r.run_id = :run_a
        AND (SELECT k.ok FROM keyed AS k) = 1
    UNION ALL
    SELECT t.key_id, t.key_text, t.change, t.lift_a, t.lift_b, r.run_id, r.segment,
        r.antecedent, r.consequent, r.confidence
    FROM rules AS r
    INNER JOIN top AS t ON t.key_id = r.rule_key AND r.lift = t.lift_b
    WHERE r.run_id = :run_b
        AND (SELECT k.ok FROM keyed AS k) = 1
    UNION ALL
    SELECT t.key_id, t.key_text, t.change, t.lift_a, t.lift_b, r.run_id, r.segment,
        r.antecedent, r.consequent, r.confidence
    FROM rules AS r
    INNER JOIN top AS t ON t.key_text = concat(
            r.segment, chr(31), array_join(r.antecedent, chr(30)), chr(31),
            array_join(r.consequent, chr(30))
        ) AND r.lift = t.lift_a
    WHERE r.run_id = :run_a
        AND (SELECT k.ok FROM keyed AS k) = 0
    UNION ALL
    SELECT t.key_id, t.key_text, t.change, t.lift_a, t.lift_b, r.run_id, r.segment,
        r.antecedent, r.consequent, r.confidence
    FROM rules AS r
    INNER JOIN top AS t ON t.key_text = concat(
            r.segment, chr(31), array_join(r.antecedent, chr(30)), chr(31),
            array_join(r.consequent, chr(30))
        ) AND r.lift = t.lift_b
    WHERE r.run_id = :run_b
        AND (SELECT k.ok FROM keyed AS k) = 0
),
paired AS (
    SELECT
        d.change,
        max(d.segment) AS segment,
        max(array_join(d.antecedent, ', ')) AS antecedent,
        max(array_join(d.consequent, ', ')) AS consequent,
        d.lift_a,
        d.lift_b,
        max(CASE WHEN d.run_id = :run_a THEN d.confidence END) AS confidence_a,
        max(CASE WHEN d.run_id = :run_b THEN d.confidence END) AS confidence_b
    FROM detail AS d
    GROUP BY d.key_id, d.key_text, d.change, d.lift_a, d.lift_b
)
SELECT
    p.change,
    p.segment,
    p.antecedent,
    p.consequent,
    p.lift_a,
    p.lift_b,
    p.lift_b - p.lift_a AS lift_change,
    p.confidence_a,
    p.confidence_b
FROM paired AS p
ORDER BY p.change, p.segment, p.antecedent, p.consequent
