SELECT * FROM expertise_requests WHERE request_id = $1
