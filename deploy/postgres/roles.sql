-- PostgreSQL roles and privileges for schakel (DESIGN.md §4: "the database
-- also refuses UPDATE/DELETE on the log (triggers; in PostgreSQL a role
-- without those rights)").
--
-- Two roles:
--
--   schakel_owner  owns the schema and every table; runs the migrations.
--                  Only an operator logs in as it, for an upgrade. Being the
--                  owner it could disable the append-only triggers, so keep
--                  its password off the hub hosts.
--   schakel_hub    what every hub connects as (database_url). It may read
--                  and append to the audit log but never change or remove
--                  an entry: no UPDATE, DELETE or TRUNCATE on audit_log,
--                  audit_parties, audit_checkpoints and audit_nodes, and,
--                  not being the owner, it cannot disable the triggers or
--                  drop the tables.
--                  Full DML on the other tables (consents, transfers, ...),
--                  which the exchange needs (purge, state changes).
--
-- The triggers of migrations 0002 and 0004 stay as the second line of
-- defence: they also stop the owner and a superuser by accident; the
-- missing privileges stop a compromised hub on purpose.
--
-- Run this file as a superuser, connected to the hub's database. It is
-- idempotent; run it again after every upgrade (it re-applies the grants to
-- tables new migrations added and takes ownership of anything another role
-- created).
--
--   New installation
--     createdb schakel
--     psql -v ON_ERROR_STOP=1 -d schakel -f deploy/postgres/roles.sql
--     psql -d schakel -c '\password schakel_owner'     (and schakel_hub)
--     start one hub with database_url = postgres://schakel_owner@…/schakel
--       (the hub migrates the schema when it connects), stop it
--     psql -v ON_ERROR_STOP=1 -d schakel -f deploy/postgres/roles.sql
--     run every hub with database_url = postgres://schakel_hub@…/schakel
--
--   Existing installation (migrated as a superuser or another role)
--     psql -v ON_ERROR_STOP=1 -d schakel -f deploy/postgres/roles.sql
--     switch every hub's database_url to schakel_hub
--
--   Upgrade
--     stop the hubs; start the new version once as schakel_owner so it
--     migrates; stop it; run this file; start the hubs as schakel_hub.
--
-- Passwords are never in this file: set them with \password (stored as
-- scram-sha-256). In pg_hba.conf allow schakel_hub only from the hub hosts
-- and schakel_owner only from where operators work, both with hostssl and
-- scram-sha-256.
--
-- Why schakel_hub has CREATE on the schema: the hub runs the migrator every
-- time it connects, and the migrator's first statement is
-- `CREATE TABLE IF NOT EXISTS _sqlx_migrations`; PostgreSQL checks CREATE on
-- the schema even when the table exists. CREATE gives no right on tables the
-- role does not own. The risk is an upgrade started as schakel_hub: a new
-- migration that only creates tables would succeed and the hub would own
-- them (this file takes them back when run). Follow the upgrade steps above;
-- revoke CREATE once the hub can start without migrating.

-- ---- 1. roles (cluster-wide) ----

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'schakel_owner') THEN
        CREATE ROLE schakel_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'schakel_hub') THEN
        CREATE ROLE schakel_hub LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    -- The hub must not inherit the owner's rights by membership.
    IF pg_has_role('schakel_hub', 'schakel_owner', 'MEMBER') THEN
        REVOKE schakel_owner FROM schakel_hub;
    END IF;
END
$$;

-- ---- 2. this database and its schema belong to the owner ----

DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO schakel_owner', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO schakel_hub', current_database());
END
$$;

ALTER SCHEMA public OWNER TO schakel_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO schakel_hub;

-- Tables, views, standalone sequences and functions made by another role
-- (a superuser that migrated, or a hub that ran a migration) pass to the
-- owner, so that only the owner can alter them or disable their triggers.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> 'schakel_owner'::regrole
          -- sequences owned by a column follow their table
          AND NOT EXISTS (SELECT FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO schakel_owner',
                       CASE r.relkind
                           WHEN 'S' THEN 'SEQUENCE'
                           WHEN 'v' THEN 'VIEW'
                           WHEN 'm' THEN 'MATERIALIZED VIEW'
                           ELSE 'TABLE'
                       END,
                       r.name);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS name
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proowner <> 'schakel_owner'::regrole
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO schakel_owner', r.name);
    END LOOP;
END
$$;

-- ---- 3. what the hub may do ----

-- Start from nothing, so a grant removed here is also removed there.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM schakel_hub;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM schakel_hub;

-- Case data and the directory: full DML (no TRUNCATE, no TRIGGER, no
-- REFERENCES).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO schakel_hub;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO schakel_hub;

DO $$
BEGIN
    -- The audit log: read and append only.
    IF to_regclass('public.audit_log') IS NOT NULL THEN
        REVOKE UPDATE, DELETE ON audit_log, audit_parties, audit_checkpoints FROM schakel_hub;
    END IF;
    -- Which entries commit to which exchange rows (migration 0006): read and
    -- append only, like the log; the rows from before it are the owner's.
    IF to_regclass('public.audit_rows') IS NOT NULL THEN
        REVOKE UPDATE, DELETE ON audit_rows FROM schakel_hub;
        REVOKE INSERT, UPDATE, DELETE ON rows_before_commitments FROM schakel_hub;
    END IF;
    IF to_regclass('public.audit_log') IS NOT NULL THEN
        -- Appending takes the next sequence number with
        -- `UPDATE audit_head SET next_seq = next_seq + 1 … RETURNING`
        -- (queries/audit_next_seq.sql): that one column, nothing else.
        REVOKE INSERT, UPDATE, DELETE ON audit_head FROM schakel_hub;
        GRANT UPDATE (next_seq) ON audit_head TO schakel_hub;
    END IF;
    -- The subtree hashes proofs are served from (migration 0004): read and
    -- append only, like the log. The hub appends them with each entry and,
    -- once after an upgrade, fills in those of older entries
    -- (`INSERT … ON CONFLICT DO NOTHING`, which needs no UPDATE).
    IF to_regclass('public.audit_nodes') IS NOT NULL THEN
        REVOKE UPDATE, DELETE ON audit_nodes FROM schakel_hub;
    END IF;
    -- The migrator reads which migrations ran; only the owner records them.
    IF to_regclass('public._sqlx_migrations') IS NOT NULL THEN
        REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM schakel_hub;
    END IF;
END
$$;

-- Tables a later migration adds are readable and appendable by the hub
-- until this file runs again and gives them their real grants: a new audit
-- table is never changeable by the hub in between.
ALTER DEFAULT PRIVILEGES FOR ROLE schakel_owner IN SCHEMA public
    GRANT SELECT, INSERT ON TABLES TO schakel_hub;
ALTER DEFAULT PRIVILEGES FOR ROLE schakel_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO schakel_hub;
