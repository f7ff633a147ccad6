-- Hashes of the complete, aligned subtrees of the audit log's Merkle tree
-- (RFC 9162 §2.1), so an inclusion or consistency proof reads O(log n)
-- rows instead of every leaf hash. Row (level, idx) is the root of the
-- perfect subtree over entries idx << level .. (idx + 1) << level; level 0
-- (the leaves) is audit_log.leaf_hash and not repeated here. A node is
-- written in the same transaction as the entry that completes it, under
-- the audit_head row lock, from its left child read here (or from
-- audit_log) and the entry's own hash; a log appended before this
-- migration is filled in once by the store when it connects. Append-only,
-- like the log (triggers here; deploy/postgres/roles.sql gives the hub's
-- role no UPDATE, DELETE or TRUNCATE); `verify_audit_log` recomputes every
-- node from the entries.

CREATE TABLE audit_nodes (
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 62),
    idx   BIGINT NOT NULL CHECK (idx >= 0),
    hash  BYTEA NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION schakel_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION schakel_append_only();
