-- One statement, so concurrent updates of different fields never undo each
-- other (no read-then-write). NULL leaves a column as it is.
UPDATE organisations
SET name = COALESCE($2, name),
    brin = COALESCE($3, brin),
    gemeentecode = COALESCE($4, gemeentecode),
    doorstroompunt_regio = COALESCE($5, doorstroompunt_regio),
    arbeidsmarktregio = COALESCE($6, arbeidsmarktregio),
    active = COALESCE($7, active),
    updated_at = $8
WHERE oin = $1
