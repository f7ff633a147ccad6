SELECT * FROM expertise_requests WHERE requester_oin = $1 AND requester_function = $2 AND idempotency_key = $3
