-- A least-privilege PostgreSQL role for Poreline's application (`poreline serve`, `poreline line run`).
--
-- The tables belong to the role that runs the migrations (`poreline db upgrade`), e.g. poreline_owner.
-- The application connects as poreline_app, which owns nothing: it may read and write the batch
-- record, recipes and users, but on audit_log only SELECT and INSERT (no UPDATE, DELETE or TRUNCATE),
-- and it cannot drop or disable the triggers that keep audit_log append-only (only an owner can).
--
-- Migration 0007 does the same when the migrating role may CREATE ROLE (it creates the role NOLOGIN);
-- otherwise run this file once, after `poreline db upgrade`, as a superuser, in the Poreline database:
--
--   psql -v ON_ERROR_STOP=1 -v owner=poreline_owner -d poreline -f deploy/postgres/least-privilege.sql
--
-- then give the role a login and point the services at it:
--
--   ALTER ROLE poreline_app LOGIN PASSWORD '...';
--   PORELINE_DATABASE_URL=postgresql+psycopg://poreline_app:...@dbhost/poreline   (/etc/poreline/*.env)
--
-- Keep running `poreline db upgrade` as the owner (poreline_owner) before starting a new release: the
-- application's role cannot migrate, and at the current revision the start-up upgrade only reads.
-- Tables later migrations create get the same rights (ALTER DEFAULT PRIVILEGES FOR ROLE the owner).
-- Schema: public (change it below if the database uses another one).

\if :{?owner}
\else
  DO $$ BEGIN RAISE EXCEPTION 'give -v owner=ROLE: the role that owns the tables (runs poreline db upgrade)'; END $$;
  \quit
\endif

DO $$ BEGIN
    CREATE ROLE poreline_app NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO poreline_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO poreline_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM poreline_app;                         -- append-only
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM poreline_app;           -- read-only
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO poreline_app;

ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO poreline_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO poreline_app;

-- the owner keeps its rights; make sure nobody else (PUBLIC) may write the audit trail
REVOKE ALL ON audit_log FROM PUBLIC;
