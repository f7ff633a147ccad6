SELECT oin, kind, name, brin, gemeentecode, doorstroompunt_regio, arbeidsmarktregio, active
FROM organisations
WHERE oin = $1
