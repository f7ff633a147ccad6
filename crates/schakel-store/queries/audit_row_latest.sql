SELECT seq, entry, leaf_hash, leaf_mac FROM audit_log
WHERE seq = (SELECT max(seq) FROM audit_rows WHERE row_table = $1 AND row_id = $2)
