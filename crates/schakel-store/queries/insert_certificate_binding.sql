INSERT INTO certificate_bindings (sha256, oin, function, not_after, created_at) VALUES ($1, $2, $3, $4, $5)
