-- The audit log: append-only, one row per entry, sequence numbers gapless
-- from 0 (the Merkle leaf index). `entry` is the canonical encoding of
-- schakel-audit; the other columns are copies for querying and scoping.

CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    next_seq INTEGER NOT NULL
) STRICT;
INSERT INTO audit_head (id, next_seq) VALUES (1, 0);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
    time_ms     INTEGER NOT NULL,
    entry       BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    actor_oin   TEXT,
    action      TEXT NOT NULL,
    subject     TEXT,
    transfer_id TEXT,
    consent_id  TEXT,
    user_id     TEXT,
    purpose     TEXT
) STRICT;
CREATE INDEX audit_log_by_actor ON audit_log (actor_oin, seq);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_transfer ON audit_log (transfer_id, seq);

-- Other organisations party to an entry, so a privacy officer sees entries
-- in which their organisation is actor or party (DESIGN.md §4).
CREATE TABLE audit_parties (
    seq INTEGER NOT NULL REFERENCES audit_log (seq),
    oin TEXT NOT NULL,
    PRIMARY KEY (oin, seq)
) STRICT;

-- Signed checkpoints with the compact range (frontier) at their size, so a
-- hub resumes the tree without replaying the log.
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY NOT NULL CHECK (size >= 0),
    root       BLOB NOT NULL CHECK (length(root) = 32),
    frontier   BLOB NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_parties_no_update BEFORE UPDATE ON audit_parties
BEGIN SELECT RAISE(ABORT, 'audit_parties is append-only'); END;
CREATE TRIGGER audit_parties_no_delete BEFORE DELETE ON audit_parties
BEGIN SELECT RAISE(ABORT, 'audit_parties is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
