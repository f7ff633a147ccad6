SELECT * FROM hardheidsclausule_decisions WHERE decision_id = $1
