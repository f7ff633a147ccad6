SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_log
