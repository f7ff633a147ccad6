INSERT INTO expertise_groups (request_id, part, ordinal, group_name, purpose, key_ids, ciphertext)
VALUES ($1, $2, $3, $4, $5, $6, $7)
