-- Handovers to a gemeente's Participatiewet function submitted in [$1, $2)
-- (unix ms), per gemeente (the mandating one when delivered under a mandate,
-- R9) and kind of sender. Content-free metadata only.
SELECT COALESCE(m.mandating_oin, t.recipient_oin) AS gemeente_oin,
       so.kind AS sender_kind,
       t.sender_function AS sender_function,
       COUNT(*) AS n
FROM transfers t
JOIN organisations so ON so.oin = t.sender_oin
LEFT JOIN mandates m ON m.mandate_id = t.mandate_id
WHERE t.recipient_function = 'participatiewet' AND t.submitted_at >= $1 AND t.submitted_at < $2
GROUP BY COALESCE(m.mandating_oin, t.recipient_oin), so.kind, t.sender_function
