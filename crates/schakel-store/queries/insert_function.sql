INSERT INTO functions (oin, function, created_at) VALUES ($1, $2, $3)
