/// PostgresChangeLog: the PostgreSQL side of change capture.
///
/// Owns the schema `fraiseql_observer` (the change-log table filled by triggers, the checkpoint
/// table), the trigger function and per-table triggers (generated, printable, re-runnable), and
/// ``PostgresChangeSource``, the bridge engine's adapter: advisory-lock leadership, batch reads of
/// unpublished rows, conditional marking, checkpoints, LISTEN/NOTIFY wake-ups.
import BridgeEngine
import Contracts
import Runtime

public enum ChangeLogSchema {
    public static let schema = "fraiseql_observer"
    public static let notifyChannel = "fraiseql_observer_changes"

    /// The DDL for the configured tables, one statement per element, safe to apply again.
    ///
    /// The trigger function runs as `captureRole` (SECURITY DEFINER owned by a NOLOGIN role whose
    /// only rights are to insert into the change log): whatever `to_jsonb` runs for a row (a cast a
    /// table owner defined for their own type) runs with those rights, not the installer's.
    public static func statements(
        for tables: [BridgeConfiguration.Table], captureRole: String = BridgeConfiguration.defaultCaptureRole
    ) throws -> [String] {
        let role = quoteIdentifier(captureRole)
        var statements = [
            // The role is created when missing (CREATEROLE), and the installer made a member so it
            // can hand the function over and replace it on the next install.
            """
            DO $role$ BEGIN
                -- Roles belong to the whole cluster: installs into two databases at once may both
                -- try to create it.
                IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = \(quoteLiteral(captureRole))) THEN
                    BEGIN
                        CREATE ROLE \(role) NOLOGIN;
                    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                    END;
                END IF;
                -- PostgreSQL 16 gives the creator of a role a membership it cannot SET ROLE to,
                -- which ALTER … OWNER TO needs.
                IF pg_catalog.current_setting('server_version_num')::int >= 160000 THEN
                    IF NOT pg_catalog.pg_has_role(current_user, \(quoteLiteral(captureRole)), 'SET') THEN
                        BEGIN
                            EXECUTE 'GRANT ' || pg_catalog.quote_ident(\(quoteLiteral(captureRole))) || ' TO '
                                || pg_catalog.quote_ident(current_user) || ' WITH SET TRUE';
                        EXCEPTION WHEN unique_violation THEN NULL;
                        END;
                    END IF;
                ELSIF NOT pg_catalog.pg_has_role(current_user, \(quoteLiteral(captureRole)), 'MEMBER') THEN
                    BEGIN
                        EXECUTE 'GRANT ' || pg_catalog.quote_ident(\(quoteLiteral(captureRole))) || ' TO '
                            || pg_catalog.quote_ident(current_user);
                    EXCEPTION WHEN unique_violation THEN NULL;
                    END;
                END IF;
            END $role$
            """,
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).change_log (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id UUID NOT NULL DEFAULT gen_random_uuid(),
                entity_type TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                operation TEXT NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
                before JSONB,
                after JSONB,
                changes JSONB,
                tenant_id TEXT,
                txid XID8 NOT NULL DEFAULT pg_current_xact_id(),
                occurred_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
            )
            """,
            // The ids of the rows not yet published. The change log itself is insert-only: marking a
            // row published deletes its narrow entry here instead of writing a new version of the
            // wide row (with its JSON) and new index entries, which was most of PostgreSQL's work
            // in a backlog drain.
            "CREATE TABLE IF NOT EXISTS \(schema).change_log_pending (id BIGINT PRIMARY KEY)",
            // Upgrade from the first layout, which marked rows with `published_at`: its unpublished
            // rows become pending, and the column goes (with its two partial indexes).
            """
            DO $upgrade$ BEGIN
                IF EXISTS (SELECT 1 FROM information_schema.columns
                            WHERE table_schema = '\(schema)' AND table_name = 'change_log'
                              AND column_name = 'published_at') THEN
                    INSERT INTO \(schema).change_log_pending (id)
                        SELECT id FROM \(schema).change_log WHERE published_at IS NULL ON CONFLICT DO NOTHING;
                    ALTER TABLE \(schema).change_log DROP COLUMN published_at;
                END IF;
            END $upgrade$
            """,
            """
            CREATE TABLE IF NOT EXISTS \(schema).checkpoints (
                transport TEXT PRIMARY KEY,
                cursor BIGINT NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            bridgeDeadLetters,
            // The trigger runs with the rights of the capture role (SECURITY DEFINER), so the
            // application's roles need no grant on this schema to be captured, and the capture role
            // can do nothing but append to the change log; the fixed search_path keeps a writer's
            // own objects out of the function.
            """
            CREATE OR REPLACE FUNCTION \(schema).capture() RETURNS trigger LANGUAGE plpgsql
                SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
            DECLARE
                entity text := TG_ARGV[0];
                id_column text := TG_ARGV[1];
                include_columns text[] := CASE WHEN TG_ARGV[2] = '' THEN NULL ELSE string_to_array(TG_ARGV[2], ',') END;
                exclude_columns text[] := CASE WHEN TG_ARGV[3] = '' THEN NULL ELSE string_to_array(TG_ARGV[3], ',') END;
                tenant_column text := NULLIF(TG_ARGV[4], '');
                old_row jsonb;
                new_row jsonb;
                change_id bigint;
                diff jsonb;
                row_id text;
                tenant text;
            BEGIN
                IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
                IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
                row_id := COALESCE(new_row, old_row) ->> id_column;
                IF row_id IS NULL THEN
                    -- The id column was dropped or renamed after install (drift), or holds NULL:
                    -- the change is still captured, with an empty entity_id and the whole row,
                    -- rather than failing the application's write. pg-bridge and
                    -- `fraiseql-observer status` report the drift.
                    RAISE WARNING 'fraiseql capture: table %.% has no value in id column "%"; entity_id left empty',
                        TG_TABLE_SCHEMA, TG_TABLE_NAME, id_column;
                    row_id := '';
                END IF;
                IF tenant_column IS NOT NULL THEN tenant := COALESCE(new_row, old_row) ->> tenant_column; END IF;
                IF include_columns IS NOT NULL THEN
                    old_row := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(old_row) WHERE key = ANY(include_columns));
                    new_row := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(new_row) WHERE key = ANY(include_columns));
                END IF;
                IF exclude_columns IS NOT NULL THEN
                    old_row := old_row - exclude_columns;
                    new_row := new_row - exclude_columns;
                END IF;
                IF TG_OP = 'UPDATE' THEN
                    SELECT jsonb_object_agg(key, jsonb_build_object('old', COALESCE(old_row -> key, 'null'::jsonb),
                                                                    'new', COALESCE(new_row -> key, 'null'::jsonb)))
                      INTO diff
                      FROM (SELECT jsonb_object_keys(COALESCE(old_row, '{}') || COALESCE(new_row, '{}')) AS key) AS keys
                     WHERE (old_row -> key) IS DISTINCT FROM (new_row -> key);
                    IF diff IS NULL THEN RETURN NULL; END IF;
                END IF;
                INSERT INTO \(schema).change_log (entity_type, entity_id, operation, before, after, changes, tenant_id)
                VALUES (entity, row_id, lower(TG_OP), old_row, new_row, diff, tenant) RETURNING id INTO change_id;
                INSERT INTO \(schema).change_log_pending (id) VALUES (change_id);
                PERFORM pg_notify('\(notifyChannel)', '');
                RETURN NULL;
            END
            $fn$
            """,
            "GRANT USAGE ON SCHEMA \(schema) TO \(role)",
            "GRANT INSERT ON \(schema).change_log, \(schema).change_log_pending TO \(role)",
            // `RETURNING id` needs to read the id column.
            "GRANT SELECT (id) ON \(schema).change_log TO \(role)",
            // A new owner needs CREATE on the schema at the moment of the change, and no longer.
            "GRANT CREATE ON SCHEMA \(schema) TO \(role)",
            "ALTER FUNCTION \(schema).capture() OWNER TO \(role)",
            "REVOKE CREATE ON SCHEMA \(schema) FROM \(role)",
            // Triggers need no EXECUTE right to fire; nobody needs to call it directly.
            "REVOKE ALL ON FUNCTION \(schema).capture() FROM PUBLIC",
        ]
        for table in tables {
            let entity: String
            do {
                entity = try SubjectNamer.entityToken(table.entity)
            } catch {
                throw ChangeLogError(.install, "table \(table.table): \(error.description)")
            }
            let qualified = try qualifiedName(table.table)
            let trigger = quoteIdentifier("fraiseql_capture_\(entity)")
            let arguments = [
                entity, table.idColumn, table.includeColumns.joined(separator: ","),
                table.excludeColumns.joined(separator: ","), table.tenantColumn ?? "",
            ]
            .map(quoteLiteral).joined(separator: ", ")
            // CREATE OR REPLACE (PostgreSQL 14+) needs only the TRIGGER right on the table, where
            // DROP TRIGGER needs its ownership.
            statements.append(
                "CREATE OR REPLACE TRIGGER \(trigger) AFTER INSERT OR UPDATE OR DELETE ON \(qualified) "
                    + "FOR EACH ROW EXECUTE FUNCTION \(schema).capture(\(arguments))")
        }
        return statements
    }

    /// The DDL as a printable script.
    public static func script(
        for tables: [BridgeConfiguration.Table], captureRole: String = BridgeConfiguration.defaultCaptureRole
    ) throws -> String {
        try statements(for: tables, captureRole: captureRole).map { $0 + ";\n" }.joined(separator: "\n")
    }

    /// `table` or `schema.table` split into its parts; nil for any other form.
    static func nameParts(_ name: String) -> [String]? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return parts
    }

    static func qualifiedName(_ name: String) throws -> String {
        guard let parts = nameParts(name) else {
            throw ChangeLogError(.install, "table name '\(name)' must be 'table' or 'schema.table'")
        }
        return parts.map(quoteIdentifier).joined(separator: ".")
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func quoteLiteral(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
