SELECT seq, entry, leaf_hash, leaf_mac FROM audit_log WHERE seq = $1
