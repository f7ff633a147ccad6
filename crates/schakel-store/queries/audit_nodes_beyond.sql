-- The first stored node of a level at or after idx $2 (verification: a node
-- the log does not complete).
SELECT idx FROM audit_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT 1
