SELECT 'consent' AS row_table, consent_id AS row_id FROM consents
UNION ALL SELECT 'transfer', transfer_id FROM transfers
UNION ALL SELECT 'expertise', request_id FROM expertise_requests
ORDER BY 1, 2
