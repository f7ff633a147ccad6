-- Newest first. $3: 'asked' (the requester's side) or 'received' (the Doorstroompunt's).
SELECT * FROM expertise_requests
WHERE ((CAST($3 AS TEXT) = 'asked' AND requester_oin = $1 AND requester_function = $2)
    OR (CAST($3 AS TEXT) = 'received' AND dp_oin = $1 AND dp_function = $2))
  AND (CAST($4 AS TEXT) IS NULL OR request_id < $4)
  AND (CAST($5 AS TEXT) IS NULL OR state = $5)
  AND (CAST($6 AS BIGINT) IS NULL OR requested_at >= $6)
  AND (CAST($7 AS BIGINT) IS NULL OR requested_at < $7)
ORDER BY request_id DESC
LIMIT $8
