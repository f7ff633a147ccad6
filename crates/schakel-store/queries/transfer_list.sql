-- One party's side of the transfers: $1/$2 is the sender (side 'sender') or
-- the recipient (side 'recipient'). $3: cursor (exclusive); $4: 'asc' or
-- 'desc'. Optional filters are NULL when unused; $5 is a '|'-delimited list
-- of states ('|submitted|delivered|'); $15, when not NULL, the mandates whose
-- transfers are listed ('|id|id|'; transfers under no mandate always are).
SELECT * FROM transfers
WHERE ((CAST($12 AS TEXT) = 'sender' AND sender_oin = $1 AND sender_function = $2)
    OR (CAST($12 AS TEXT) = 'recipient' AND recipient_oin = $1 AND recipient_function = $2))
  AND (CAST($3 AS TEXT) IS NULL
       OR (CAST($4 AS TEXT) = 'asc' AND transfer_id > $3)
       OR (CAST($4 AS TEXT) = 'desc' AND transfer_id < $3))
  AND (CAST($5 AS TEXT) IS NULL OR $5 LIKE '%|' || state || '|%')
  AND (CAST($6 AS TEXT) IS NULL OR purpose = $6)
  AND (CAST($7 AS TEXT) IS NULL OR (CASE WHEN CAST($12 AS TEXT) = 'sender' THEN recipient_oin ELSE sender_oin END) = $7)
  AND (CAST($8 AS TEXT) IS NULL OR (CASE WHEN CAST($12 AS TEXT) = 'sender' THEN recipient_function ELSE sender_function END) = $8)
  AND (CAST($9 AS BIGINT) IS NULL OR submitted_at >= $9)
  AND (CAST($10 AS BIGINT) IS NULL OR submitted_at < $10)
  AND (CAST($11 AS TEXT) IS NULL OR consent_id = $11)
  AND (CAST($13 AS BIGINT) = 0 OR (notice_id IS NOT NULL AND notice_acknowledged_at IS NULL))
  AND (CAST($15 AS TEXT) IS NULL OR mandate_id IS NULL OR $15 LIKE '%|' || mandate_id || '|%')
ORDER BY
  CASE WHEN CAST($4 AS TEXT) = 'asc' THEN transfer_id END ASC,
  CASE WHEN CAST($4 AS TEXT) = 'desc' THEN transfer_id END DESC
LIMIT $14
