-- Transfers under the purposes $3 ('|'-delimited: '|handover.school_to_gemeente|')
-- submitted in [$1, $2) (unix ms), per gemeente they went to (the mandating
-- one when delivered under a mandate, R9), kind of sender, and where each stood at the end of the period: decided
-- (`accept`, `decline`) before it ended, else withdrawn before it ended, else
-- `open`. Timestamps once set never change, so an ended period always gives
-- the same counts. Content-free metadata only.
SELECT COALESCE(m.mandating_oin, t.recipient_oin) AS gemeente_oin,
       so.kind AS sender_kind,
       t.sender_function AS sender_function,
       CASE
           WHEN t.decided_at IS NOT NULL AND t.decided_at < $2 THEN t.decision
           WHEN t.withdrawn_at IS NOT NULL AND t.withdrawn_at < $2 THEN 'withdrawn'
           ELSE 'open'
       END AS outcome,
       COUNT(*) AS n
FROM transfers t
JOIN organisations so ON so.oin = t.sender_oin
LEFT JOIN mandates m ON m.mandate_id = t.mandate_id
WHERE $3 LIKE '%|' || t.purpose || '|%' AND t.submitted_at >= $1 AND t.submitted_at < $2
GROUP BY 1, 2, 3, 4
