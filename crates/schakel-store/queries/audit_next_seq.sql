-- Takes the audit head's row lock until the transaction ends: one writer at
-- a time appends, so sequence numbers are gapless and in commit order.
UPDATE audit_head SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1
