SELECT key_id, oin, function, age_recipient, valid_from, valid_until, revoked_at
FROM recipient_keys
WHERE oin = $1
ORDER BY valid_from, key_id
