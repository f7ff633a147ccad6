INSERT INTO organisations (oin, kind, name, brin, gemeentecode, doorstroompunt_regio, arbeidsmarktregio, active, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
