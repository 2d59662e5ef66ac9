import BridgeEngine
import MariaDB

/// A configured table as the database has it: where it lives and the columns the trigger
/// captures, with their types (from `information_schema`).
public struct MySQLCapturedTable: Sendable {
    public struct Column: Sendable, Hashable {
        public var name: String
        /// `information_schema.COLUMNS.DATA_TYPE` (`int`, `varchar`, `timestamp`, …).
        public var dataType: String
        /// `COLUMN_TYPE` (`int(10) unsigned`, `enum('a','b')`, …).
        public var columnType: String
        /// Fractional-second digits of a time column.
        public var fractionDigits: Int
        /// A JSON column (MySQL's `json`, or MariaDB's `longtext` with a `json_valid` check).
        public var isJSON: Bool
    }

    public var configuration: BridgeConfiguration.Table
    public var schema: String
    public var table: String
    /// The captured columns, in the table's order.
    public var columns: [Column]

    /// A problem of the configured tables: the configuration key and what is wrong.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var message: String
        public var description: String { "\(key): \(message)" }
    }

    /// Reads every configured table's columns; the problems name the configuration key
    /// (`bridge.tables[0].id_column`). `database` is the connection's database (for unqualified names).
    public static func load(
        _ tables: [BridgeConfiguration.Table], database: String, client: any MariaDBQuerying
    ) async throws -> (tables: [MySQLCapturedTable], problems: [Problem]) {
        var captured: [MySQLCapturedTable] = []
        var problems: [Problem] = []
        for (index, table) in tables.enumerated() {
            let key = "bridge.tables[\(index)]"
            guard let parts = MySQLChangeLogSchema.nameParts(table.table) else {
                problems.append(
                    Problem(key: "\(key).table", message: "'\(table.table)' must be 'table' or 'database.table'"))
                continue
            }
            let schema = parts.schema ?? database
            let rows = try await client.query(
                """
                SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, COALESCE(c.DATETIME_PRECISION, 0),
                       EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                                WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                                  AND REPLACE(k.CHECK_CLAUSE, '`', '') = CONCAT('json_valid(', c.COLUMN_NAME, ')'))
                  FROM information_schema.COLUMNS c
                  JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
                 WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? AND t.TABLE_TYPE = 'BASE TABLE'
                 ORDER BY c.ORDINAL_POSITION
                """, [.text(schema), .text(parts.table)])
            guard !rows.rows.isEmpty else {
                problems.append(
                    Problem(key: "\(key).table", message: "table '\(schema).\(parts.table)' does not exist"))
                continue
            }
            let all = rows.rows.indices.map { row in
                let dataType = (rows.string(row, 1) ?? "").lowercased()
                return Column(
                    name: rows.string(row, 0) ?? "", dataType: dataType,
                    columnType: (rows.string(row, 2) ?? "").lowercased(),
                    fractionDigits: Int(rows.int64(row, 3) ?? 0),
                    isJSON: dataType == "json" || rows.int64(row, 4) == 1)
            }
            let names = Set(all.map(\.name))
            func missing(_ column: String) -> String {
                "column '\(column)' does not exist in '\(schema).\(parts.table)' (columns: \(all.map(\.name).joined(separator: ", ")))"
            }
            var ok = true
            if !names.contains(table.idColumn) {
                problems.append(Problem(key: "\(key).id_column", message: missing(table.idColumn)))
                ok = false
            }
            for column in table.includeColumns where !names.contains(column) {
                problems.append(Problem(key: "\(key).include_columns", message: missing(column)))
                ok = false
            }
            for column in table.excludeColumns where !names.contains(column) {
                problems.append(Problem(key: "\(key).exclude_columns", message: missing(column)))
                ok = false
            }
            if let tenant = table.tenantColumn, !names.contains(tenant) {
                problems.append(Problem(key: "\(key).tenant_column", message: missing(tenant)))
                ok = false
            }
            guard ok else { continue }
            let included = table.includeColumns.isEmpty ? names : Set(table.includeColumns)
            let columns = all.filter { included.contains($0.name) && !table.excludeColumns.contains($0.name) }
            captured.append(
                MySQLCapturedTable(configuration: table, schema: schema, table: parts.table, columns: columns))
        }
        return (captured, problems)
    }
}
