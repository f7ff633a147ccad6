UPDATE expertise_requests SET state = 'answered', answered_at = $2, outcome = $3, advice_groups = $4,
    advice_policy_version = $5, advice_key = $6, advice_fingerprint = $7
WHERE request_id = $1 AND state = 'open'
