SELECT size, root, frontier, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1
