import MariaDB

/// The AFTER INSERT/UPDATE/DELETE triggers of a captured table: each writes one change-log row
/// with a fresh event UUID and the row's images as JSON objects built with `JSON_OBJECT` from the
/// columns read at install (re-run `install` after `ALTER TABLE`; the bridge reports the drift).
///
/// How values appear in the images: integers, decimals, floats and years as JSON numbers; `bit`
/// as an unsigned integer; `date`, `time` and `datetime` as the server writes them
/// (`2024-01-02 03:04:05.123`, with the column's fraction digits); `timestamp` the same way in
/// UTC whatever the writer's session time zone; text, `enum` and `set` as strings; binary
/// strings and blobs as `\x` followed by lower-case hex (as PostgreSQL writes `bytea`); JSON
/// columns as nested JSON; NULL as `null`.
public enum MySQLTriggers {
    /// The statements that (re)create the triggers of `table`, each atomically replacing the
    /// previous one when `orReplace` (MariaDB); MySQL has no `CREATE OR REPLACE TRIGGER`, so the
    /// old one is dropped first (a write in between is not captured: install while writes pause).
    static func statements(
        for table: MySQLCapturedTable, changeLogSchema: String, orReplace: Bool, literal: (String) -> String
    ) -> [String] {
        let changeLog = "\(MariaDBConnection.identifier(changeLogSchema)).\(MySQLChangeLogSchema.changeLog)"
        let target = "\(MariaDBConnection.identifier(table.schema)).\(MariaDBConnection.identifier(table.table))"
        var statements: [String] = []
        for (operation, event, short) in [
            ("insert", "INSERT", "ins"), ("update", "UPDATE", "upd"), ("delete", "DELETE", "del"),
        ] {
            let row = operation == "delete" ? "OLD" : "NEW"
            let before = operation == "insert" ? "NULL" : image(table, row: "OLD", literal: literal)
            let after = operation == "delete" ? "NULL" : image(table, row: "NEW", literal: literal)
            let tenant =
                table.configuration.tenantColumn.map { "CAST(\(row).\(MariaDBConnection.identifier($0)) AS CHAR)" }
                ?? "NULL"
            let name =
                "\(MariaDBConnection.identifier(table.schema)).\(MariaDBConnection.identifier(MySQLChangeLogSchema.triggerName(table: table.table, operation: short)))"
            if !orReplace { statements.append("DROP TRIGGER IF EXISTS \(name)") }
            statements.append(
                """
                CREATE \(orReplace ? "OR REPLACE " : "")TRIGGER \(name) AFTER \(event) ON \(target) FOR EACH ROW
                  INSERT INTO \(changeLog) (event_id, entity_type, entity_id, operation, before_image, after_image, tenant_id)
                  VALUES (UUID(), \(literal(table.configuration.entity)), CAST(\(row).\(MariaDBConnection.identifier(table.configuration.idColumn)) AS CHAR),
                          '\(operation)', \(before), \(after), \(tenant))
                """)
        }
        return statements
    }

    /// `JSON_OBJECT('column', value, …)` of `row` (`NEW` or `OLD`).
    static func image(_ table: MySQLCapturedTable, row: String, literal: (String) -> String) -> String {
        let pairs = table.columns.map { column in
            "\(literal(column.name)), \(value(column, "\(row).\(MariaDBConnection.identifier(column.name))"))"
        }
        return "JSON_OBJECT(\(pairs.joined(separator: ", ")))"
    }

    /// The expression that puts `column`'s value `reference` into the image (see the type's doc).
    static func value(_ column: MySQLCapturedTable.Column, _ reference: String) -> String {
        if column.isJSON { return "JSON_EXTRACT(\(reference), '$')" }
        switch column.dataType {
        case "bit":
            return "CAST(\(reference) AS UNSIGNED)"
        case "timestamp":
            // UNIX_TIMESTAMP reads the instant whatever the session's zone; rendered back in UTC.
            let digits = min(max(column.fractionDigits, 0), 6)
            return """
                CAST(DATE_ADD(TIMESTAMP'1970-01-01 00:00:00', INTERVAL CAST(UNIX_TIMESTAMP(\(reference)) * 1000000 AS SIGNED) MICROSECOND) AS DATETIME(\(digits)))
                """
        case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
            // CHAR(92) is the backslash, whatever the session's sql_mode does to escapes.
            return "CONCAT(CHAR(92 USING ascii), 'x', LOWER(HEX(\(reference))))"
        default:
            return reference
        }
    }
}
