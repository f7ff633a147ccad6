UPDATE organisations
SET name = $2, brin = $3, gemeentecode = $4, doorstroompunt_regio = $5, arbeidsmarktregio = $6, active = $7, updated_at = $8
WHERE oin = $1
