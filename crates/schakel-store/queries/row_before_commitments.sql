SELECT count(*) FROM rows_before_commitments WHERE row_table = $1 AND row_id = $2
