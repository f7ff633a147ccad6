SELECT * FROM expertise_requests WHERE dp_oin = $1 AND dp_function = $2 AND advice_key = $3
