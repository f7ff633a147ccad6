SELECT * FROM transfers WHERE sender_oin = $1 AND sender_function = $2 AND idempotency_key = $3
