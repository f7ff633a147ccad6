INSERT INTO audit_checkpoints (size, root, frontier, note, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (size) DO NOTHING
