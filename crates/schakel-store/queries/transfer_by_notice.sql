SELECT * FROM transfers WHERE notice_id = $1
