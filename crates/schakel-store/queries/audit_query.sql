-- Entries visible to one organisation ($2: its OIN is the actor or a party),
-- from sequence $1 on, in order. Optional filters are NULL when unused; $10
-- is a ','-delimited list of action names (',transfer_fetched,consent_viewed,')
-- or NULL for every action. $12: an upper bound (exclusive) on the sequence.
SELECT l.seq, l.entry, l.leaf_hash, l.leaf_mac FROM audit_log l
WHERE l.seq >= $1
  AND (CAST($12 AS BIGINT) IS NULL OR l.seq < $12)
  AND (l.actor_oin = $2
       OR EXISTS (SELECT 1 FROM audit_parties p WHERE p.oin = $2 AND p.seq = l.seq))
  AND (CAST($3 AS TEXT) IS NULL OR l.subject = $3)
  AND (CAST($4 AS TEXT) IS NULL OR l.transfer_id = $4)
  AND (CAST($5 AS TEXT) IS NULL OR l.consent_id = $5)
  AND (CAST($6 AS TEXT) IS NULL OR l.user_id = $6)
  AND (CAST($7 AS TEXT) IS NULL OR l.purpose = $7)
  AND (CAST($8 AS BIGINT) IS NULL OR l.time_ms >= $8)
  AND (CAST($9 AS BIGINT) IS NULL OR l.time_ms < $9)
  AND (CAST($10 AS TEXT) IS NULL OR $10 LIKE '%,' || l.action || ',%')
ORDER BY l.seq
LIMIT $11
