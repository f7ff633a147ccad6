INSERT INTO recipient_keys (key_id, oin, function, age_recipient, valid_from, valid_until, revoked_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
