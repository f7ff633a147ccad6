INSERT INTO transfer_groups (transfer_id, ordinal, group_name, purpose, key_ids, ciphertext)
VALUES ($1, $2, $3, $4, $5, $6)
