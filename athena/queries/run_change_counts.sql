-- How many rules of one run changed, by kind, against the previous run of its kind (the miner's rule_changes): the counts of every change, not only of the rows a top_n query returns.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param segment string = '' : only this segment ('' = every segment)
SELECT
    c.change,
    c.previous_run_id,
    c.previous_dt,
    count(*) AS rules
FROM rule_changes AS c
WHERE c.run_id = (
        CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
    )
    AND (:segment = '' OR c.segment = :segment)
GROUP BY c.change, c.previous_run_id, c.previous_dt
ORDER BY
    CASE c.change
        WHEN 'new' THEN 1
        WHEN 'strengthened' THEN 2
        WHEN 'weakened' THEN 3
        WHEN 'gone' THEN 4
        ELSE 5
    END,
    c.previous_run_id
