-- The authentication code a hub stores beside each entry it appends
-- (schakel-audit LeafKey: HMAC of the position and leaf hash under a key
-- derived from the log's signing key). A hub checks the codes of the
-- entries no checkpoint covers yet before it signs over them, so an entry
-- changed or added in the database is refused, not signed. NULL for
-- entries appended before this migration (covered by checkpoints) and for
-- those a tool without the key appended before the first checkpoint.
ALTER TABLE audit_log ADD COLUMN leaf_mac BLOB CHECK (leaf_mac IS NULL OR length(leaf_mac) = 32);
