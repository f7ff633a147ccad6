-- Expertise requests made in [$1, $2) (unix ms) by where they stood when the
-- period ended (the advice's outcome, or `open`), per requesting gemeente;
-- and the gemeenten's hardheidsclausule decisions recorded in the period.
SELECT requester_oin AS gemeente_oin, 'expertise' AS measure,
       CASE WHEN answered_at IS NOT NULL AND answered_at < $2 THEN outcome ELSE 'open' END AS col,
       COUNT(*) AS n
FROM expertise_requests
WHERE requested_at >= $1 AND requested_at < $2
GROUP BY requester_oin, CASE WHEN answered_at IS NOT NULL AND answered_at < $2 THEN outcome ELSE 'open' END
UNION ALL
SELECT gemeente_oin, 'hardheidsclausule', 'decisions', COUNT(*)
FROM hardheidsclausule_decisions
WHERE decided_at >= $1 AND decided_at < $2
GROUP BY gemeente_oin
