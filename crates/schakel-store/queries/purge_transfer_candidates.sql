-- Transfers whose sealed content must go (R15): the retention period ended
-- at or before $1, or declined / withdrawn at or before $2 (the period kept
-- after closing). Oldest expiry first; at most $3.
SELECT transfer_id, state, purpose, subject, sender_oin, recipient_oin, groups,
       retention_until, decided_at, withdrawn_at
FROM transfers
WHERE state <> 'purged'
  AND (retention_until <= $1
       OR (state = 'declined' AND decided_at <= $2)
       OR (state = 'withdrawn' AND withdrawn_at <= $2))
ORDER BY retention_until, transfer_id
LIMIT $3
