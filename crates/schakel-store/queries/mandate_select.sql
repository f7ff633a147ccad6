SELECT * FROM mandates WHERE mandate_id = $1
