/// The observer-worker's own tables in the schema, beside the change log: created by
/// `fraiseql-observer install` (so that the workers' role needs no DDL rights) or by the first
/// worker that finds them missing (``ChangeLogStore/ensure(_:)``).
extension ChangeLogSchema {
    /// Idempotent DDL and the names of the tables and indexes it creates.
    public struct Objects: Sendable {
        public var statements: [String]
        public var names: [String]
        /// The advisory lock that serialises concurrent creations.
        public var lockKey: String
    }

    /// The `postgres` observer transport's: per-action done marks, retries, dead letters, and
    /// the indexes retention and the CLI use (done marks by age, dead letters by failure time).
    public static let observerTables = Objects(
        statements: [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).observer_done (
                event_id uuid NOT NULL,
                action_key text NOT NULL,
                done_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (event_id, action_key))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(schema).observer_attempts (
                change_id bigint PRIMARY KEY,
                attempts int NOT NULL,
                not_before timestamptz NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(schema).dead_letters (
                id uuid PRIMARY KEY,
                origin text NOT NULL,
                reason text NOT NULL,
                event_id uuid,
                handler text,
                attempts int NOT NULL,
                last_error text NOT NULL,
                payload text NOT NULL,
                first_failed_at timestamptz NOT NULL,
                last_failed_at timestamptz NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS observer_done_done_at ON \(schema).observer_done (done_at)",
            """
            CREATE INDEX IF NOT EXISTS dead_letters_last_failed_at
                ON \(schema).dead_letters (last_failed_at, id)
            """,
        ],
        names: [
            "observer_done", "observer_attempts", "dead_letters", "observer_done_done_at",
            "dead_letters_last_failed_at",
        ], lockKey: "\(schema).observer_tables")

    /// The `search` action's PostgreSQL full-text audit index (when no Elasticsearch is
    /// configured): one row per index name and event, a generated `tsvector` over the event's
    /// string and number values.
    public static let auditIndex = Objects(
        statements: [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).audit_index (
                index_name text NOT NULL,
                event_id uuid NOT NULL,
                entity_type text NOT NULL,
                entity_id text NOT NULL,
                operation text NOT NULL,
                tenant_id text,
                occurred_at timestamptz NOT NULL,
                document jsonb NOT NULL,
                search tsvector GENERATED ALWAYS AS (jsonb_to_tsvector('simple', document, '["string", "numeric"]')) STORED,
                PRIMARY KEY (index_name, event_id))
            """,
            "CREATE INDEX IF NOT EXISTS audit_index_search ON \(schema).audit_index USING gin (search)",
            """
            CREATE INDEX IF NOT EXISTS audit_index_entity
                ON \(schema).audit_index (index_name, entity_type, entity_id, occurred_at)
            """,
        ],
        names: ["audit_index", "audit_index_search", "audit_index_entity"], lockKey: "\(schema).audit_index")
}
