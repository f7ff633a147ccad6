INSERT INTO transfers (transfer_id, sender_oin, sender_function, idempotency_key, fingerprint, recipient_oin,
    recipient_function, purpose, subject, consent_id, policy_version, hardheidsclausule, return_to_education,
    client_reference, groups, state, submitted_at, retention_until, mandate_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
