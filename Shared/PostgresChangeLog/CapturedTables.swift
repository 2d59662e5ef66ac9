import BridgeEngine
import Logging
import PostgresNIO
import Runtime

/// Checks `[[bridge.tables]]` against the database: each table exists and has the configured id,
/// include, exclude and tenant columns. `install` refuses to install triggers that would capture
/// nothing useful (exit 2, naming the key); the bridge and `status` run the same check later to
/// report drift (a column renamed or dropped after install).
public enum CapturedTables {
    /// One thing wrong: the configuration key (`bridge.tables[0].id_column`) and what.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var message: String
        public var description: String { "\(key): \(message)" }
    }

    /// The problems of the configured tables, in configuration order (empty: all is well).
    public static func check(
        _ tables: [BridgeConfiguration.Table], connection: PostgresConnection, logger: Logger
    ) async throws -> [Problem] {
        var problems: [Problem] = []
        for (index, table) in tables.enumerated() {
            let key = "bridge.tables[\(index)]"
            guard let parts = ChangeLogSchema.nameParts(table.table) else {
                problems.append(
                    Problem(key: "\(key).table", message: "'\(table.table)' must be 'table' or 'schema.table'"))
                continue
            }
            let schema = parts.count == 2 ? parts[0] : nil
            let name = parts.last!
            // The table as PostgreSQL resolves the name the trigger uses (search_path for an
            // unqualified one), and its columns.
            let rows = try await connection.checkedQuery(
                """
                SELECT a.attname::text FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE c.relname = \(name) AND c.relkind IN ('r', 'p')
                   AND (CASE WHEN \(schema ?? "")::text = '' THEN c.oid = to_regclass(quote_ident(\(name)))
                             ELSE n.nspname = \(schema ?? "") END)
                """, logger: logger)
            var found = false
            var columns: Set<String> = []
            for try await column in rows.decode(String?.self) {
                found = true
                if let column { columns.insert(column) }
            }
            guard found else {
                problems.append(Problem(key: "\(key).table", message: "table '\(table.table)' does not exist"))
                continue
            }
            func missing(_ column: String) -> String {
                "column '\(column)' does not exist in '\(table.table)' (columns: \(columns.sorted().joined(separator: ", ")))"
            }
            if !columns.contains(table.idColumn) {
                problems.append(Problem(key: "\(key).id_column", message: missing(table.idColumn)))
            }
            for column in table.includeColumns where !columns.contains(column) {
                problems.append(Problem(key: "\(key).include_columns", message: missing(column)))
            }
            for column in table.excludeColumns where !columns.contains(column) {
                problems.append(Problem(key: "\(key).exclude_columns", message: missing(column)))
            }
            if let tenant = table.tenantColumn, !columns.contains(tenant) {
                problems.append(Problem(key: "\(key).tenant_column", message: missing(tenant)))
            }
        }
        return problems
    }
}
