SELECT seq, row_table, row_id FROM audit_rows WHERE seq >= $1 AND seq < $2 ORDER BY seq, row_table, row_id
