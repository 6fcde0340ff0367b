-- Item-to-item edges of one run's rules (every antecedent item to every consequent item); without a filter, from the miner's item_edges.
-- @param run_id string = '' : the run ('' = the latest run)
-- @param min_support double = 0.0 : minimum rule support (fraction of baskets)
-- @param min_confidence double = 0.0 : minimum rule confidence
-- @param min_lift double = 0.0 : minimum rule lift
-- @param segment string = '' : only this segment ('' = every segment)
-- @param max_p double = 1.0 : largest adjusted Fisher p-value (1.0 = every rule, also those of runs without p-values)
-- @param include_redundant int = 1 : 0 = leave out redundant rules (improvement <= 0)
-- @param top_n int = 200 : edges returned, strongest first
WITH unfiltered AS (  -- 1: no filter is set and the run has its item_edges (runs mined before them have none)
    SELECT
        CASE
            WHEN :min_support <= 0 AND :min_confidence <= 0 AND :min_lift <= 0
                AND :max_p >= 1.0 AND :include_redundant <> 0
                AND EXISTS (
                    SELECT 1
                    FROM item_edges AS e
                    WHERE e.run_id = (
                        CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
                    )
                )
            THEN 1
            ELSE 0
        END AS ok
),
from_edges AS (  -- the miner's item_edges: the same edges, without unnesting every rule
    SELECT
        e.source,
        e.target,
        CAST(sum(e.rules) AS bigint) AS rules,
        max(e.lift) AS lift,
        max(e.confidence) AS confidence,
        max(e.support) AS support
    FROM item_edges AS e
    WHERE e.run_id = (
            CASE WHEN :run_id = '' THEN (SELECT l.run_id FROM latest_runs AS l) ELSE :run_id END
        )
        AND (:segment = '' OR e.segment = :segment)
        AND (SELECT u.ok FROM unfiltered AS u) = 1
    GROUP BY e.source, e.target
),
picked AS (  -- with a filter: the run's rules above the floors, only the columns the edges need
    SELECT r.antecedent, r.consequent, r.lift, r.confidence, r.support
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
        AND (SELECT u.ok FROM unfiltered AS u) = 0
),
from_rules AS (
    SELECT
        a.item AS source,
        c.item AS target,
        count(*) AS rules,
        max(p.lift) AS lift,
        max(p.confidence) AS confidence,
        max(p.support) AS support
    FROM picked AS p
    CROSS JOIN UNNEST(p.antecedent) AS a (item)
    CROSS JOIN UNNEST(p.consequent) AS c (item)
    GROUP BY a.item, c.item
),
edges AS (
    SELECT * FROM from_edges
    UNION ALL
    SELECT * FROM from_rules
),
top AS (
    SELECT e.source, e.target, e.rules, e.lift, e.confidence, e.support
    FROM edges AS e
    ORDER BY e.lift DESC, e.confidence DESC, e.source, e.target
    LIMIT :top_n
)
SELECT
    row_number() OVER (ORDER BY t.lift DESC, t.confidence DESC, t.source, t.target) AS place,
    t.source, t.target, t.rules, t.lift, t.confidence, t.support
FROM top AS t
ORDER BY place
