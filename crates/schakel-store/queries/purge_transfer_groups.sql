DELETE FROM transfer_groups WHERE transfer_id = $1
