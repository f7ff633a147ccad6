-- Exchange: consents, transfers with their sealed groups, expertise requests.
-- No column holds a BSN, a name or document content in clear: subjects are
-- pseudonyms (HMAC-SHA256 under the hub secret), content is age ciphertext,
-- request fingerprints are keyed MACs. Times are unix milliseconds (UTC),
-- calendar dates ISO `YYYY-MM-DD` (Europe/Amsterdam), ids UUID text, group
-- lists space-separated group names.

CREATE TABLE consents (
    consent_id         TEXT PRIMARY KEY NOT NULL,
    recorder_oin       TEXT NOT NULL,
    recorder_function  TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    fingerprint        BYTEA NOT NULL,
    subject            TEXT,
    status             TEXT NOT NULL CHECK (status IN ('given', 'refused', 'withdrawn')),
    giver              TEXT NOT NULL,
    method             TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    recipient_oin      TEXT NOT NULL,
    recipient_function TEXT NOT NULL,
    groups             TEXT NOT NULL,
    valid_from         TEXT NOT NULL,
    valid_until        TEXT,
    recorded_at        BIGINT NOT NULL,
    recorded_by_user   TEXT NOT NULL,
    withdrawn_at       BIGINT,
    withdrawn_by       TEXT,
    client_reference   TEXT NOT NULL,
    policy_version     TEXT NOT NULL,
    FOREIGN KEY (recorder_oin, recorder_function) REFERENCES functions (oin, function),
    FOREIGN KEY (recipient_oin, recipient_function) REFERENCES functions (oin, function),
    UNIQUE (recorder_oin, recorder_function, idempotency_key)
);
CREATE INDEX consents_by_recorder ON consents (recorder_oin, recorder_function, consent_id);

CREATE TABLE transfers (
    transfer_id               TEXT PRIMARY KEY NOT NULL,
    sender_oin                TEXT NOT NULL,
    sender_function           TEXT NOT NULL,
    idempotency_key           TEXT NOT NULL,
    fingerprint               BYTEA NOT NULL,
    recipient_oin             TEXT NOT NULL,
    recipient_function        TEXT NOT NULL,
    purpose                   TEXT NOT NULL,
    subject                   TEXT NOT NULL,
    consent_id                TEXT REFERENCES consents (consent_id),
    policy_version            TEXT NOT NULL,
    hardheidsclausule         BOOLEAN NOT NULL,
    return_to_education       TEXT,
    client_reference          TEXT NOT NULL,
    groups                    TEXT NOT NULL,
    state                     TEXT NOT NULL,
    submitted_at              BIGINT NOT NULL,
    retention_until           BIGINT NOT NULL,
    first_fetched_at          BIGINT,
    acknowledged_at           BIGINT,
    case_reference            TEXT,
    decision                  TEXT,
    decline_reason            TEXT,
    decided_at                BIGINT,
    decided_by_role           TEXT,
    withdrawn_at              BIGINT,
    notice_id                 TEXT UNIQUE,
    notice_acknowledged_at    BIGINT,
    notice_confirmed_deletion BOOLEAN,
    purged_at                 BIGINT,
    FOREIGN KEY (sender_oin, sender_function) REFERENCES functions (oin, function),
    FOREIGN KEY (recipient_oin, recipient_function) REFERENCES functions (oin, function),
    UNIQUE (sender_oin, sender_function, idempotency_key)
);
CREATE INDEX transfers_by_recipient ON transfers (recipient_oin, recipient_function, transfer_id);
CREATE INDEX transfers_by_sender ON transfers (sender_oin, sender_function, transfer_id);
CREATE INDEX transfers_by_consent ON transfers (consent_id);

-- One row per sealed group: age ciphertext to the keys in key_ids.
CREATE TABLE transfer_groups (
    transfer_id TEXT NOT NULL REFERENCES transfers (transfer_id),
    ordinal     BIGINT NOT NULL,
    group_name  TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    key_ids     TEXT NOT NULL,
    ciphertext  BYTEA NOT NULL,
    PRIMARY KEY (transfer_id, ordinal)
);

CREATE TABLE expertise_requests (
    request_id            TEXT PRIMARY KEY NOT NULL,
    requester_oin         TEXT NOT NULL,
    requester_function    TEXT NOT NULL,
    idempotency_key       TEXT NOT NULL,
    fingerprint           BYTEA NOT NULL,
    dp_oin                TEXT NOT NULL,
    dp_function           TEXT NOT NULL,
    subject               TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('open', 'answered', 'purged')),
    groups                TEXT NOT NULL,
    requested_at          BIGINT NOT NULL,
    policy_version        TEXT NOT NULL,
    retention_until       BIGINT NOT NULL,
    client_reference      TEXT NOT NULL,
    answered_at           BIGINT,
    outcome               TEXT,
    advice_groups         TEXT,
    advice_policy_version TEXT,
    advice_key            TEXT,
    advice_fingerprint    BYTEA,
    purged_at             BIGINT,
    FOREIGN KEY (requester_oin, requester_function) REFERENCES functions (oin, function),
    FOREIGN KEY (dp_oin, dp_function) REFERENCES functions (oin, function),
    UNIQUE (requester_oin, requester_function, idempotency_key)
);
CREATE INDEX expertise_by_requester ON expertise_requests (requester_oin, requester_function, request_id);
CREATE INDEX expertise_by_doorstroompunt ON expertise_requests (dp_oin, dp_function, request_id);

CREATE TABLE expertise_groups (
    request_id TEXT NOT NULL REFERENCES expertise_requests (request_id),
    part       TEXT NOT NULL CHECK (part IN ('request', 'advice')),
    ordinal    BIGINT NOT NULL,
    group_name TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    key_ids    TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    PRIMARY KEY (request_id, part, ordinal)
);
