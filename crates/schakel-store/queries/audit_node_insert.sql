-- A node completed by the entry appended in the same transaction.
INSERT INTO audit_nodes (level, idx, hash) VALUES ($1, $2, $3)
