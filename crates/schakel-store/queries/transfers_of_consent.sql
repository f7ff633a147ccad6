SELECT * FROM transfers WHERE consent_id = $1 ORDER BY transfer_id
