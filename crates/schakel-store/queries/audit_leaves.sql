SELECT leaf_hash FROM audit_log WHERE seq >= $1 AND seq < $2 ORDER BY seq
