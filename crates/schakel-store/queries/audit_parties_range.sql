SELECT seq, oin FROM audit_parties WHERE seq >= $1 AND seq < $2 ORDER BY seq, oin
