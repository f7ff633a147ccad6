INSERT INTO mandates (mandate_id, mandating_oin, function, mandated_oin, agreement_ref, valid_from, valid_until,
    recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
