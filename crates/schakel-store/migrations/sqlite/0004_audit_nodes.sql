-- Hashes of the complete, aligned subtrees of the audit log's Merkle tree
-- (RFC 9162 §2.1), so an inclusion or consistency proof reads O(log n)
-- rows instead of every leaf hash. Row (level, idx) is the root of the
-- perfect subtree over entries idx << level .. (idx + 1) << level; level 0
-- (the leaves) is audit_log.leaf_hash and not repeated here. A node is
-- written in the same transaction as the entry that completes it, from its
-- left child read here (or from audit_log) and the entry's own hash; a log
-- appended before this migration is filled in once by the store when it
-- connects. Append-only, like the log; `verify_audit_log` recomputes every
-- node from the entries.

CREATE TABLE audit_nodes (
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 62),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
