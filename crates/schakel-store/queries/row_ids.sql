SELECT 'consent' AS row_table, consent_id AS row_id FROM consents
UNION ALL SELECT 'transfer', transfer_id FROM transfers
UNION ALL SELECT 'expertise', request_id FROM expertise_requests
UNION ALL SELECT 'recipient_key', key_id FROM recipient_keys
UNION ALL SELECT 'hardheidsclausule', decision_id FROM hardheidsclausule_decisions
UNION ALL SELECT 'mandate', mandate_id FROM mandates
ORDER BY 1, 2
