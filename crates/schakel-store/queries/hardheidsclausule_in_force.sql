SELECT * FROM hardheidsclausule_decisions
WHERE gemeente_oin = $1 AND gemeente_function = $2 AND subject = $3 AND valid_from <= $4 AND valid_until >= $4
ORDER BY decided_at, decision_id
