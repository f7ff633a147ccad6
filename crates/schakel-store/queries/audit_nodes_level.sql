-- The stored nodes of one level with idx in [$2, $3), in order (verification).
SELECT idx, hash FROM audit_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx
