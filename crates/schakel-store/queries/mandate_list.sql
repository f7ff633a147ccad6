-- Mandates of one gemeente's function ($1/$2 as mandating), of one
-- organisation's function ($3/$4 as mandated), or all (every parameter NULL);
-- oldest first.
SELECT * FROM mandates
WHERE (CAST($1 AS TEXT) IS NULL OR (mandating_oin = $1 AND function = $2))
  AND (CAST($3 AS TEXT) IS NULL OR (mandated_oin = $3 AND function = $4))
ORDER BY recorded_at, mandate_id
