INSERT INTO expertise_requests (request_id, requester_oin, requester_function, idempotency_key, fingerprint, dp_oin,
    dp_function, subject, state, groups, requested_at, policy_version, retention_until, client_reference)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13)
