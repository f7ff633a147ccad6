-- Directory: organisations, their functions, age recipients and certificate bindings.
-- Times are unix milliseconds (UTC). Ids are UUID text.

CREATE TABLE organisations (
    oin                  TEXT PRIMARY KEY NOT NULL CHECK (length(oin) = 20),
    kind                 TEXT NOT NULL CHECK (kind IN ('pro_school', 'vso_school', 'mbo_school', 'gemeente', 'admin')),
    name                 TEXT NOT NULL,
    brin                 TEXT UNIQUE,
    gemeentecode         TEXT UNIQUE,
    doorstroompunt_regio TEXT,
    arbeidsmarktregio    TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE functions (
    oin        TEXT NOT NULL REFERENCES organisations (oin),
    function   TEXT NOT NULL CHECK (function IN ('school', 'doorstroompunt', 'participatiewet', 'privacy_officer', 'admin')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (oin, function)
) STRICT;

CREATE TABLE recipient_keys (
    key_id        TEXT PRIMARY KEY NOT NULL,
    oin           TEXT NOT NULL,
    function      TEXT NOT NULL,
    age_recipient TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL,
    FOREIGN KEY (oin, function) REFERENCES functions (oin, function),
    UNIQUE (oin, function, age_recipient)
) STRICT;

CREATE TABLE certificate_bindings (
    sha256     TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    oin        TEXT NOT NULL,
    function   TEXT NOT NULL,
    not_after  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (oin, function) REFERENCES functions (oin, function)
) STRICT;

CREATE INDEX certificate_bindings_by_party ON certificate_bindings (oin, function);
