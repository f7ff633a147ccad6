-- Ends a mandate that has not been ended: $2 is its last day, $3 when.
UPDATE mandates SET ended_on = $2, ended_at = $3 WHERE mandate_id = $1 AND ended_on IS NULL
