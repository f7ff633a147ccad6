SELECT seq, time_ms, actor_oin, action, subject, transfer_id, consent_id, user_id, purpose
FROM audit_log WHERE seq >= $1 AND seq < $2 ORDER BY seq
