-- Mandates (R9): a gemeente's Participatiewet or Doorstroompunt task carried
-- out by another organisation (an uitvoeringsorganisatie such as a regional
-- werkbedrijf, or another gemeente) under a processing agreement, for a
-- period. Each row is committed to by the audit entry that recorded or ended
-- it (RowTable 6, `mandate`) and checked on every read: a mandate slipped
-- into the database redirects nothing.
ALTER TABLE organisations DROP CONSTRAINT organisations_kind_check;
ALTER TABLE organisations ADD CONSTRAINT organisations_kind_check
    CHECK (kind IN ('pro_school', 'vso_school', 'mbo_school', 'gemeente', 'admin', 'uitvoeringsorganisatie'));
-- A region's partners reading its numbers (R17).
ALTER TABLE functions DROP CONSTRAINT functions_function_check;
ALTER TABLE functions ADD CONSTRAINT functions_function_check
    CHECK (function IN ('school', 'doorstroompunt', 'participatiewet', 'privacy_officer', 'admin', 'regional_partner'));

CREATE TABLE mandates (
    mandate_id    TEXT PRIMARY KEY NOT NULL,
    mandating_oin TEXT NOT NULL,
    function      TEXT NOT NULL,
    mandated_oin  TEXT NOT NULL,
    agreement_ref TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    ended_on      TEXT,
    recorded_at   BIGINT NOT NULL,
    ended_at      BIGINT,
    FOREIGN KEY (mandating_oin, function) REFERENCES functions (oin, function),
    FOREIGN KEY (mandated_oin, function) REFERENCES functions (oin, function)
);
CREATE INDEX mandates_by_mandating ON mandates (mandating_oin, function);
CREATE INDEX mandates_by_mandated ON mandates (mandated_oin, function);
