INSERT INTO audit_rows (seq, row_table, row_id) VALUES ($1, $2, $3)
