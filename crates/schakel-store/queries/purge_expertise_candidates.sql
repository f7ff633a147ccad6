-- Expertise requests whose retention period ended at or before $1.
SELECT request_id, state, subject, requester_oin, dp_oin, groups, advice_groups, retention_until
FROM expertise_requests
WHERE state <> 'purged' AND retention_until <= $1
ORDER BY retention_until, request_id
LIMIT $2
