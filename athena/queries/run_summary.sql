-- Headline figures of one run: rows read and rejected, baskets, items, itemsets, rules.
-- @param run_id string = '' : the run ('' = the latest run)
SELECT
    r.run_id,
    r.dt,
    r.status,
    r.finished_at,
    r.segment_by,
    r.min_support,
    r.min_confidence,
    r.input_rows,
    r.accepted_rows,
    r.rejected_rows,
    r.baskets,
    r.distinct_items,
    r.itemsets,
    r.rules
FROM runs AS r
WHERE r.run_id = (
    CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
)
