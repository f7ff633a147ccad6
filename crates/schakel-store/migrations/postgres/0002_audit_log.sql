-- The audit log: append-only, one row per entry, sequence numbers gapless
-- from 0 (the Merkle leaf index). `entry` is the canonical encoding of
-- schakel-audit; the other columns are copies for querying and scoping.
-- Writers take the row lock on audit_head, so with several hubs the log
-- stays gapless and sequence order equals commit order.

CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq BIGINT NOT NULL
);
INSERT INTO audit_head (id, next_seq) VALUES (1, 0);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY CHECK (seq >= 0),
    time_ms     BIGINT NOT NULL,
    entry       BYTEA NOT NULL,
    leaf_hash   BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    actor_oin   TEXT,
    action      TEXT NOT NULL,
    subject     TEXT,
    transfer_id TEXT,
    consent_id  TEXT,
    user_id     TEXT,
    purpose     TEXT
);
CREATE INDEX audit_log_by_actor ON audit_log (actor_oin, seq);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_transfer ON audit_log (transfer_id, seq);

CREATE TABLE audit_parties (
    seq BIGINT NOT NULL REFERENCES audit_log (seq),
    oin TEXT NOT NULL,
    PRIMARY KEY (oin, seq)
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY CHECK (size >= 0),
    root       BYTEA NOT NULL CHECK (length(root) = 32),
    frontier   BYTEA NOT NULL,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE FUNCTION schakel_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_parties_append_only BEFORE UPDATE OR DELETE ON audit_parties
    FOR EACH ROW EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_parties_no_truncate BEFORE TRUNCATE ON audit_parties
    FOR EACH STATEMENT EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION schakel_append_only();
