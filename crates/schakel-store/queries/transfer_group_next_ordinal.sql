SELECT COALESCE(MAX(ordinal) + 1, 0) FROM transfer_groups WHERE transfer_id = $1
