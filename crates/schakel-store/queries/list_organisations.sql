-- Keyset pagination on oin; empty filter values mean "any".
SELECT oin, kind, name, brin, gemeentecode, doorstroompunt_regio, arbeidsmarktregio, active
FROM organisations
WHERE oin > $1
  AND ($2 = '' OR kind = $2)
  AND ($3 = '' OR arbeidsmarktregio = $3)
  AND ($4 = '' OR doorstroompunt_regio = $4)
  AND ($6 OR active)
ORDER BY oin
LIMIT $5
