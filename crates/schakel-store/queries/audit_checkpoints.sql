SELECT size, root, frontier, note, created_at FROM audit_checkpoints ORDER BY size
