SELECT key_id, oin, function, age_recipient, valid_from, valid_until, revoked_at
FROM recipient_keys
WHERE key_id = $1
