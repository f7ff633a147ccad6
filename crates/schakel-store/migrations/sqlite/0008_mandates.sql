-- no-transaction
-- Mandates (R9): a gemeente's Participatiewet or Doorstroompunt task carried
-- out by another organisation (an uitvoeringsorganisatie such as a regional
-- werkbedrijf, or another gemeente) under a processing agreement, for a
-- period. Each row is committed to by the audit entry that recorded or ended
-- it (RowTable 6, `mandate`) and checked on every read: a mandate slipped
-- into the database redirects nothing.
--
-- `organisations.kind` gains `uitvoeringsorganisatie`, and `functions.function`
-- gains `regional_partner` (a region's partners reading its numbers, R17).
-- SQLite cannot change a CHECK constraint in place, so both tables are
-- rebuilt the documented way
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign key
-- enforcement off, one transaction, create - copy - drop - rename. That
-- needs this file to run outside sqlx's own transaction (the first line);
-- every statement is safe to run again, so a crash between the commit and
-- sqlx's bookkeeping only repeats it. Columns of other tables that refer to
-- the mandates are added by 0009, inside a transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE IF EXISTS organisations_rebuilt;
CREATE TABLE organisations_rebuilt (
    oin                  TEXT PRIMARY KEY NOT NULL CHECK (length(oin) = 20),
    kind                 TEXT NOT NULL CHECK (kind IN ('pro_school', 'vso_school', 'mbo_school', 'gemeente', 'admin',
                                                       'uitvoeringsorganisatie')),
    name                 TEXT NOT NULL,
    brin                 TEXT UNIQUE,
    gemeentecode         TEXT UNIQUE,
    doorstroompunt_regio TEXT,
    arbeidsmarktregio    TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;
INSERT INTO organisations_rebuilt (oin, kind, name, brin, gemeentecode, doorstroompunt_regio, arbeidsmarktregio,
    active, created_at, updated_at)
SELECT oin, kind, name, brin, gemeentecode, doorstroompunt_regio, arbeidsmarktregio, active, created_at, updated_at
FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_rebuilt RENAME TO organisations;

DROP TABLE IF EXISTS functions_rebuilt;
CREATE TABLE functions_rebuilt (
    oin        TEXT NOT NULL REFERENCES organisations (oin),
    function   TEXT NOT NULL CHECK (function IN ('school', 'doorstroompunt', 'participatiewet', 'privacy_officer', 'admin',
                                                 'regional_partner')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (oin, function)
) STRICT;
INSERT INTO functions_rebuilt (oin, function, created_at) SELECT oin, function, created_at FROM functions;
DROP TABLE functions;
ALTER TABLE functions_rebuilt RENAME TO functions;

CREATE TABLE IF NOT EXISTS mandates (
    mandate_id    TEXT PRIMARY KEY NOT NULL,
    mandating_oin TEXT NOT NULL,
    function      TEXT NOT NULL,
    mandated_oin  TEXT NOT NULL,
    agreement_ref TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    ended_on      TEXT,
    recorded_at   INTEGER NOT NULL,
    ended_at      INTEGER,
    FOREIGN KEY (mandating_oin, function) REFERENCES functions (oin, function),
    FOREIGN KEY (mandated_oin, function) REFERENCES functions (oin, function)
) STRICT;
CREATE INDEX IF NOT EXISTS mandates_by_mandating ON mandates (mandating_oin, function);
CREATE INDEX IF NOT EXISTS mandates_by_mandated ON mandates (mandated_oin, function);
COMMIT;
PRAGMA foreign_keys = ON;
