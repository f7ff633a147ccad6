-- Which incarnation of the PostgreSQL server a commit was made on
-- (DESIGN.md §7 property 7; the group commit in src/durable.rs).
--
-- Write transactions commit with synchronous_commit = off and are
-- acknowledged only once a later synchronous commit has flushed the WAL past
-- them. That later commit proves nothing if the server crashed in between:
-- it then runs on the restarted server, where the earlier commit never
-- existed. So every write transaction reads the epoch below, and so does
-- every flush; a commit counts as durable only when a flush made after it
-- saw the same epoch.
--
-- The table is UNLOGGED on purpose: PostgreSQL empties unlogged tables in
-- every crash recovery (pg_ctl stop -m immediate, a killed postmaster or
-- backend, power loss) and on a promoted standby, and keeps them over a clean
-- shutdown, which flushes the WAL anyway. The first write after such a
-- recovery stores a new random epoch, so no commit of the old incarnation can
-- be mistaken for one of the new. Nothing here is ever read for anything else.

CREATE UNLOGGED TABLE schakel_incarnation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL
);

-- What a flush writes. A transaction that only took a transaction id
-- (`SELECT txid_current()`) writes no WAL of its own before its commit
-- record, and PostgreSQL then commits it asynchronously even with
-- synchronous_commit = on (RecordTransactionCommit: "the transaction has not
-- performed any WAL-logged operation"): such a "flush" waited for nothing.
-- A flush therefore updates its hub's row here, a WAL-logged change, so its
-- COMMIT really waits until the WAL is on disk up to its own commit record.
-- One row per hub process (`writer`), so hubs never wait for each other's
-- row lock; `flushes` counts them (for an operator's curiosity only).
CREATE TABLE schakel_flush (
    writer  TEXT PRIMARY KEY,
    flushes BIGINT NOT NULL
);

-- The authentication code a hub stores beside each entry it appends
-- (schakel-audit LeafKey: HMAC of the position and leaf hash under a key
-- derived from the log's signing key). A hub checks the codes of the
-- entries no checkpoint covers yet before it signs over them, so an entry
-- changed or added in the database is refused, not signed. NULL for
-- entries appended before this migration (covered by checkpoints) and for
-- those a tool without the key appended before the first checkpoint.
ALTER TABLE audit_log ADD COLUMN leaf_mac BYTEA CHECK (leaf_mac IS NULL OR length(leaf_mac) = 32);
