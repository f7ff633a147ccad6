SELECT * FROM consents WHERE consent_id = $1
