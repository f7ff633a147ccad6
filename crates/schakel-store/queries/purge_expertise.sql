-- Marks an expertise request purged, only from the state the caller read ($2).
UPDATE expertise_requests SET state = 'purged', purged_at = $3 WHERE request_id = $1 AND state = $2
