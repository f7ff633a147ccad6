UPDATE consents SET status = 'withdrawn', withdrawn_at = $2, withdrawn_by = $3
WHERE consent_id = $1 AND status = 'given'
