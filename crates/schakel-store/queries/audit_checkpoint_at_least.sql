-- The smallest checkpoint covering `size` entries.
SELECT size, root, frontier, note, created_at FROM audit_checkpoints WHERE size >= $1 ORDER BY size LIMIT 1
