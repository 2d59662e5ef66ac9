import BridgeEngine
import Logging
import PostgresNIO

/// The analytic views of a captured entity, for flight-server and SQL users:
///
/// - `va_<entity>`: a view over the change log, one row per change, with the entity's columns
///   read out of the row image (`after`, or `before` for a delete) and cast to the source
///   table's own types, after the change's `_change_id`, `_event_id`, `_operation`,
///   `_occurred_at`, `_tenant_id` and `_txid`.
/// - `ta_<entity>`: the same rows kept in a table, for histories longer than the change log's
///   retention or too large to scan. `ta_<entity>_refresh()` adds the changes committed since
///   its last run and returns how many; it is safe to run concurrently (an advisory lock) and
///   never misses a change that committed late (it rereads from the oldest transaction that was
///   still running at its previous run, by `txid`).
public enum AnalyticViews {
    /// A captured column and its type as PostgreSQL prints it (`numeric(10,2)`, `text[]`).
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: String
        /// `A` (array), `U` (user: json/jsonb are `U`), … (`pg_type.typcategory`).
        public var category: String

        public init(name: String, type: String, category: String) {
            self.name = name
            self.type = type
            self.category = category
        }
    }

    /// The change's own columns, first in both relations.
    public static let changeColumns = ["_change_id", "_event_id", "_operation", "_occurred_at", "_tenant_id", "_txid"]

    /// The columns `table` captures (its include and exclude lists applied), in table order.
    public static func columns(
        of table: BridgeConfiguration.Table, connection: PostgresConnection, logger: Logger
    ) async throws -> [Column] {
        let name = try ChangeLogSchema.qualifiedName(table.table)
        let rows = try await connection.checkedQuery(
            """
            SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typcategory::text
              FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = to_regclass(\(name)) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """, logger: logger)
        var columns: [Column] = []
        for try await (column, type, category) in rows.decode((String, String, String).self) {
            if !table.includeColumns.isEmpty && !table.includeColumns.contains(column) { continue }
            if table.excludeColumns.contains(column) { continue }
            columns.append(Column(name: column, type: type, category: category))
        }
        guard !columns.isEmpty else {
            throw ChangeLogError(.install, "table '\(table.table)' does not exist or captures no column")
        }
        return columns
    }

    /// The DDL of `va_<entity>`, `ta_<entity>` and its refresh function in `schema`: idempotent.
    public static func statements(entity: String, columns: [Column], schema: String = "public") -> [String] {
        let quote = ChangeLogSchema.quoteIdentifier
        let literal = ChangeLogSchema.quoteLiteral
        let relation = entity.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let view = "\(quote(schema)).\(quote("va_" + String(relation)))"
        let table = "\(quote(schema)).\(quote("ta_" + String(relation)))"
        let state = "\(quote(schema)).\(quote("ta_" + String(relation) + "_refresh_state"))"
        let refresh = "\(quote(schema)).\(quote("ta_" + String(relation) + "_refresh"))"
        let expressions = columns.map { column -> String in
            let key = literal(column.name)
            let value: String
            if column.type == "json" || column.type == "jsonb" {
                value = "NULLIF(i.image -> \(key), 'null'::jsonb)::\(column.type)"
            } else if column.category == "A" {
                value =
                    "CASE WHEN jsonb_typeof(i.image -> \(key)) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(i.image -> \(key)))::\(column.type) END"
            } else {
                value = "(i.image ->> \(key))::\(column.type)"
            }
            return "    \(value) AS \(quote(column.name))"
        }
        let select = """
            SELECT c.id AS _change_id, c.event_id AS _event_id, c.operation AS _operation,
                   c.occurred_at AS _occurred_at, c.tenant_id AS _tenant_id, c.txid::text::bigint AS _txid,
            \(expressions.joined(separator: ",\n"))
              FROM \(ChangeLogSchema.schema).change_log c
             CROSS JOIN LATERAL (SELECT coalesce(c.after, c.before) AS image) i
             WHERE c.entity_type = \(literal(entity))
            """
        return [
            "CREATE OR REPLACE VIEW \(view) AS\n\(select)",
            "CREATE TABLE IF NOT EXISTS \(table) AS SELECT * FROM \(view) WITH NO DATA",
            """
            DO $pk$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                                WHERE conrelid = to_regclass(\(literal(table))) AND contype = 'p') THEN
                    ALTER TABLE \(table) ADD PRIMARY KEY (_change_id);
                END IF;
            END $pk$
            """,
            "CREATE TABLE IF NOT EXISTS \(state) (watermark BIGINT NOT NULL)",
            """
            CREATE OR REPLACE FUNCTION \(refresh)() RETURNS BIGINT LANGUAGE plpgsql AS $refresh$
            DECLARE
                since BIGINT;
                mark BIGINT;
                added BIGINT;
            BEGIN
                -- One refresh at a time; a second one waits, then finds little to do.
                PERFORM pg_advisory_xact_lock(hashtext(\(literal(table))));
                SELECT watermark INTO since FROM \(state);
                -- Before reading: every transaction older than this had ended, so the next run
                -- rereads from here and finds what commits after this read.
                mark := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
                INSERT INTO \(table) SELECT v.* FROM \(view) v WHERE since IS NULL OR v._txid >= since
                    ON CONFLICT (_change_id) DO NOTHING;
                GET DIAGNOSTICS added = ROW_COUNT;
                DELETE FROM \(state);
                INSERT INTO \(state) (watermark) VALUES (mark);
                RETURN added;
            END
            $refresh$
            """,
        ]
    }
}
