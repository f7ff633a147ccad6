SELECT * FROM hardheidsclausule_decisions WHERE gemeente_oin = $1 AND gemeente_function = $2 AND idempotency_key = $3
