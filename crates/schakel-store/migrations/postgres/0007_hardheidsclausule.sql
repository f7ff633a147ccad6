-- The gemeente's hardheidsclausule decisions (Participatiewet art. 7a lid 7,
-- R2): the Participatiewet function of a gemeente decides, for a youth it
-- already supports, that data may still flow to it past the 27th birthday,
-- for a period. The justification and the gemeente's own case reference are
-- age ciphertext sealed to that function's keys; the clear columns hold only
-- the pseudonym, the period and the transfer the support rests on. Each row
-- is committed to by its audit entry (RowTable 5, `hardheidsclausule`).
CREATE TABLE hardheidsclausule_decisions (
    decision_id        TEXT PRIMARY KEY NOT NULL,
    gemeente_oin       TEXT NOT NULL,
    gemeente_function  TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    fingerprint        BYTEA NOT NULL,
    subject            TEXT NOT NULL,
    basis_transfer_id  TEXT,
    valid_from         TEXT NOT NULL,
    valid_until        TEXT NOT NULL,
    decided_at         BIGINT NOT NULL,
    decided_by_user    TEXT NOT NULL,
    policy_version     TEXT NOT NULL,
    sealed_key_ids     TEXT NOT NULL,
    sealed             BYTEA NOT NULL,
    FOREIGN KEY (gemeente_oin, gemeente_function) REFERENCES functions (oin, function),
    UNIQUE (gemeente_oin, gemeente_function, idempotency_key)
);
CREATE INDEX hardheidsclausule_by_subject
    ON hardheidsclausule_decisions (gemeente_oin, gemeente_function, subject, valid_until);
