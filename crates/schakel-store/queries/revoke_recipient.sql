-- A revoked key stays revoked: the first revocation time is kept.
UPDATE recipient_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1
