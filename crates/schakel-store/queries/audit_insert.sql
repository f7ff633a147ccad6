INSERT INTO audit_log (seq, time_ms, entry, leaf_hash, actor_oin, action, subject, transfer_id, consent_id, user_id, purpose, leaf_mac)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
