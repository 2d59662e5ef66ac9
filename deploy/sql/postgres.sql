-- The demo application's schema for compose.yaml's PostgreSQL (postgres:16 runs it once, from
-- /docker-entrypoint-initdb.d/, as the superuser in the database `app` of POSTGRES_DB).
-- The application's table is owned by the superuser; the fleet connects as a role of its own with
-- the grants docs/deployment.md lists ("PostgreSQL roles and grants"), never as the superuser:
-- `pg-bridge install` / `fraiseql-observer install` refuse one without --allow-superuser.

CREATE TABLE public.orders (
    id serial PRIMARY KEY,
    customer text,
    status text,
    total numeric
);

-- The fleet's role: runs `install` (owns the schema fraiseql_observer and the change log) and the
-- services. CREATEROLE lets `install` create the capture role when it is missing.
CREATE ROLE fraiseql_fleet LOGIN CREATEROLE PASSWORD 'fleet';
GRANT CREATE ON DATABASE app TO fraiseql_fleet;          -- CREATE SCHEMA fraiseql_observer
GRANT SELECT, TRIGGER ON public.orders TO fraiseql_fleet; -- each captured table

-- The capture role (bridge.capture_role), created here rather than by `install`: PostgreSQL 16
-- changed what CREATEROLE gives over the roles a role creates (createrole_self_grant), and
-- docs/deployment.md prefers a capture role made by the DBA there. NOLOGIN, nothing else granted:
-- `install` gives it exactly the rights on the change log that the trigger function needs.
CREATE ROLE fraiseql_capture NOLOGIN;
GRANT fraiseql_capture TO fraiseql_fleet;
