INSERT INTO consents (consent_id, recorder_oin, recorder_function, idempotency_key, fingerprint, subject, status,
    giver, method, purpose, recipient_oin, recipient_function, groups, valid_from, valid_until, recorded_at,
    recorded_by_user, withdrawn_at, withdrawn_by, client_reference, policy_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
