-- Which audit entries commit to which exchange rows (issue 14).
--
-- An audit entry of an action that writes a consent, a transfer, an
-- expertise request or an age recipient key carries a digest of that row as the action left it
-- (schakel-audit RowCommitment: clear metadata, and the sealed units'
-- ciphertext). Every read of such a row by the hub compares the row with the
-- latest entry that committed to it, found through this index, so a row
-- changed in the database (another recipient, an earlier state, swapped
-- ciphertext) is answered DATA_LOSS instead of served. Like audit_parties,
-- these rows are copies of what the entries say; the checkpointer and
-- `audit verify --database` check them against the entries.
CREATE TABLE audit_rows (
    seq       INTEGER NOT NULL REFERENCES audit_log (seq),
    row_table TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    PRIMARY KEY (row_table, row_id, seq)
) STRICT;
CREATE INDEX audit_rows_by_seq ON audit_rows (seq);

-- Rows written before entries carried commitments. They are read without a
-- comparison (nothing to compare with); every row written since must have
-- its entry. The hub never writes this table.
CREATE TABLE rows_before_commitments (
    row_table TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    PRIMARY KEY (row_table, row_id)
) STRICT;
INSERT INTO rows_before_commitments (row_table, row_id)
    SELECT 'consent', consent_id FROM consents;
INSERT INTO rows_before_commitments (row_table, row_id)
    SELECT 'transfer', transfer_id FROM transfers;
INSERT INTO rows_before_commitments (row_table, row_id)
    SELECT 'expertise', request_id FROM expertise_requests;
INSERT INTO rows_before_commitments (row_table, row_id)
    SELECT 'recipient_key', key_id FROM recipient_keys;

CREATE TRIGGER audit_rows_no_update BEFORE UPDATE ON audit_rows
BEGIN SELECT RAISE(ABORT, 'audit_rows is append-only'); END;
CREATE TRIGGER audit_rows_no_delete BEFORE DELETE ON audit_rows
BEGIN SELECT RAISE(ABORT, 'audit_rows is append-only'); END;
