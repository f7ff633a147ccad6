SELECT ordinal, group_name, purpose, key_ids, ciphertext FROM expertise_groups
WHERE request_id = $1 AND part = $2 ORDER BY ordinal
