-- Transfers of one organisation ($1, sender or recipient) that were declined,
-- withdrawn or purged, with when that happened (milliseconds).
SELECT transfer_id, state, purged_at, withdrawn_at, decided_at FROM transfers
WHERE (sender_oin = $1 OR recipient_oin = $1)
  AND (state IN ('declined', 'withdrawn') OR purged_at IS NOT NULL)
