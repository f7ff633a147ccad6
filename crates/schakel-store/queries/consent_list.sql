-- Newest first; optional filters are NULL when unused.
SELECT * FROM consents
WHERE recorder_oin = $1 AND recorder_function = $2
  AND (CAST($3 AS TEXT) IS NULL OR consent_id < $3)
  AND (CAST($4 AS TEXT) IS NULL OR subject = $4)
  AND (CAST($5 AS TEXT) IS NULL OR purpose = $5)
  AND (CAST($6 AS TEXT) IS NULL OR status = $6)
  AND (CAST($7 AS TEXT) IS NULL OR recipient_oin = $7)
  AND (CAST($8 AS TEXT) IS NULL OR recipient_function = $8)
  AND (CAST($9 AS BIGINT) IS NULL OR recorded_at >= $9)
  AND (CAST($10 AS BIGINT) IS NULL OR recorded_at < $10)
ORDER BY consent_id DESC
LIMIT $11
