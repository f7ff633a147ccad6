-- The mandate a transfer was delivered under (R9; migration 0008): the
-- transfer's recipient is then the mandated organisation's function, acting
-- for the mandating gemeente. NULL for a transfer delivered to the addressed
-- function itself. Part of the transfer's committed metadata.
ALTER TABLE transfers ADD COLUMN mandate_id TEXT REFERENCES mandates (mandate_id);
