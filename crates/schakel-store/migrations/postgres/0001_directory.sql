-- Directory: organisations, their functions, age recipients and certificate bindings.
-- Times are unix milliseconds (UTC). Ids are UUID text, so both backends share queries.

CREATE TABLE organisations (
    oin                  TEXT PRIMARY KEY CHECK (length(oin) = 20),
    kind                 TEXT NOT NULL CHECK (kind IN ('pro_school', 'vso_school', 'mbo_school', 'gemeente', 'admin')),
    name                 TEXT NOT NULL,
    brin                 TEXT UNIQUE,
    gemeentecode         TEXT UNIQUE,
    doorstroompunt_regio TEXT,
    arbeidsmarktregio    TEXT,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE functions (
    oin        TEXT NOT NULL REFERENCES organisations (oin),
    function   TEXT NOT NULL CHECK (function IN ('school', 'doorstroompunt', 'participatiewet', 'privacy_officer', 'admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (oin, function)
);

CREATE TABLE recipient_keys (
    key_id        TEXT PRIMARY KEY,
    oin           TEXT NOT NULL,
    function      TEXT NOT NULL,
    age_recipient TEXT NOT NULL,
    valid_from    BIGINT NOT NULL,
    valid_until   BIGINT,
    revoked_at    BIGINT,
    created_at    BIGINT NOT NULL,
    FOREIGN KEY (oin, function) REFERENCES functions (oin, function),
    UNIQUE (oin, function, age_recipient)
);

CREATE TABLE certificate_bindings (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    oin        TEXT NOT NULL,
    function   TEXT NOT NULL,
    not_after  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (oin, function) REFERENCES functions (oin, function)
);

CREATE INDEX certificate_bindings_by_party ON certificate_bindings (oin, function);
