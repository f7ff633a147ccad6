-- A state transition, only from the state the caller read ($2): a
-- concurrent change makes this update nothing, and the caller retries.
-- Columns are set only when given (NULL keeps the stored value).
UPDATE transfers SET
    state = $3,
    first_fetched_at = COALESCE(first_fetched_at, $4),
    acknowledged_at = COALESCE(acknowledged_at, $5),
    case_reference = COALESCE($6, case_reference),
    decision = COALESCE($7, decision),
    decline_reason = COALESCE($8, decline_reason),
    decided_at = COALESCE($9, decided_at),
    decided_by_role = COALESCE($10, decided_by_role),
    withdrawn_at = COALESCE(withdrawn_at, $11),
    notice_id = COALESCE(notice_id, $12),
    notice_acknowledged_at = COALESCE(notice_acknowledged_at, $13),
    notice_confirmed_deletion = COALESCE($14, notice_confirmed_deletion)
WHERE transfer_id = $1 AND state = $2
