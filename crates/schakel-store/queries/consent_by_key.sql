SELECT * FROM consents WHERE recorder_oin = $1 AND recorder_function = $2 AND idempotency_key = $3
