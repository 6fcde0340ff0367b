-- Segments of one run with their numbers of itemsets and rules.
-- @param run_id string = '' : the run ('' = the latest run)
WITH picked AS (
    SELECT CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        AS run_id
),
sets AS (
    SELECT i.segment, count(*) AS itemsets
    FROM itemsets AS i
    WHERE i.run_id = (SELECT p.run_id FROM picked AS p)
    GROUP BY i.segment
),
rules_per_segment AS (
    SELECT r.segment, count(*) AS rules
    FROM rules AS r
    WHERE r.run_id = (SELECT p.run_id FROM picked AS p)
    GROUP BY r.segment
)
SELECT
    coalesce(s.segment, r.segment) AS segment,
    coalesce(s.itemsets, 0) AS itemsets,
    coalesce(r.rules, 0) AS rules
FROM sets AS s
FULL OUTER JOIN rules_per_segment AS r ON r.segment = s.segment
ORDER BY segment
