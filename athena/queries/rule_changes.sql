-- Rule changes between two runs: new, vanished, strengthened and weakened (by lift).
-- @param run_a string : the earlier run id
-- @param run_b string : the later run id
-- @param min_lift_change double = 0.0 : a lift change must exceed this to be reported
WITH a AS (
    SELECT
        segment,
        array_join(antecedent, ', ') AS antecedent,
        array_join(consequent, ', ') AS consequent,
        lift,
        confidence
    FROM rules
    WHERE run_id = :run_a
),
b AS (
    SELECT
        segment,
        array_join(antecedent, ', ') AS antecedent,
        array_join(consequent, ', ') AS consequent,
        lift,
        confidence
    FROM rules
    WHERE run_id = :run_b
),
joined AS (
    SELECT
        coalesce(b.segment, a.segment) AS segment,
        coalesce(b.antecedent, a.antecedent) AS antecedent,
        coalesce(b.consequent, a.consequent) AS consequent,
        a.lift AS lift_a,
        b.lift AS lift_b,
        a.confidence AS confidence_a,
        b.confidence AS confidence_b
    FROM a
    FULL OUTER JOIN b
        ON a.segment = b.segment
        AND a.antecedent = b.antecedent
        AND a.consequent = b.consequent
),
classified AS (
    SELECT
        j.*,
        CASE
            WHEN j.lift_a IS NULL THEN 'new'
            WHEN j.lift_b IS NULL THEN 'vanished'
            WHEN j.lift_b - j.lift_a > :min_lift_change THEN 'strengthened'
            WHEN j.lift_a - j.lift_b > :min_lift_change THEN 'weakened'
        END AS change
    FROM joined AS j
)
SELECT
    change,
    segment,
    antecedent,
    consequent,
    lift_a,
    lift_b,
    lift_b - lift_a AS lift_change,
    confidence_a,
    confidence_b
FROM classified
WHERE change IS NOT NULL
ORDER BY change, segment, antecedent, consequent
