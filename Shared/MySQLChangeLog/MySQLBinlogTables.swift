import BridgeEngine

/// The configured tables as binlog mode looks them up: by `schema.table`, with the columns to
/// keep in the images.
struct MySQLBinlogTables: Sendable {
    struct Table: Sendable {
        var configuration: BridgeConfiguration.Table
        var schema: String
        var name: String

        /// Whether the images keep `column` (`include_columns`, `exclude_columns`).
        func keeps(_ column: String) -> Bool {
            (configuration.includeColumns.isEmpty || configuration.includeColumns.contains(column))
                && !configuration.excludeColumns.contains(column)
        }
    }

    private var byName: [String: Table] = [:]

    init(_ tables: [BridgeConfiguration.Table], database: String) {
        for table in tables {
            guard let parts = MySQLChangeLogSchema.nameParts(table.table) else { continue }
            let schema = parts.schema ?? database
            byName["\(schema).\(parts.table)"] = Table(configuration: table, schema: schema, name: parts.table)
        }
    }

    func table(schema: String, name: String) -> Table? { byName["\(schema).\(name)"] }

    var all: [Table] { Array(byName.values) }
}
