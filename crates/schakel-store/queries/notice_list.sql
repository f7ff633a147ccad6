-- Withdrawal notices addressed to a recipient, oldest first.
SELECT * FROM transfers
WHERE recipient_oin = $1 AND recipient_function = $2 AND notice_id IS NOT NULL
  AND (CAST($3 AS TEXT) IS NULL OR notice_id > $3)
  AND (CAST($4 AS BIGINT) = 0 OR notice_acknowledged_at IS NULL)
ORDER BY notice_id ASC
LIMIT $5
