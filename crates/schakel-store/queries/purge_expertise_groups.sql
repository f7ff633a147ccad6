DELETE FROM expertise_groups WHERE request_id = $1
