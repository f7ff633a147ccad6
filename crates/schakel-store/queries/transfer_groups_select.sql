SELECT ordinal, group_name, purpose, key_ids, ciphertext FROM transfer_groups
WHERE transfer_id = $1 ORDER BY ordinal
