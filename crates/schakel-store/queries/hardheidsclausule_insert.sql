INSERT INTO hardheidsclausule_decisions (decision_id, gemeente_oin, gemeente_function, idempotency_key, fingerprint,
    subject, basis_transfer_id, valid_from, valid_until, decided_at, decided_by_user, policy_version, sealed_key_ids,
    sealed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
