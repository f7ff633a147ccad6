SELECT * FROM transfers WHERE transfer_id = $1
