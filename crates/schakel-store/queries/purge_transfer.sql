-- Marks a transfer purged, only from the state the caller read ($2).
UPDATE transfers SET state = 'purged', purged_at = $3 WHERE transfer_id = $1 AND state = $2
