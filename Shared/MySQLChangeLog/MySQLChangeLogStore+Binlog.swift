import BridgeEngine
import MariaDB

/// The binlog mode's statements: the server's binlog settings and files, the checkpoint as text,
/// and what the decoder needs from information_schema.
extension MySQLChangeLogStore {
    /// What is wrong with the server's binlog settings for binlog mode (empty: all is well).
    func binlogSettingsProblems() async throws -> [String] {
        let result = try await connection.query(
            "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, COALESCE(@@binlog_row_metadata, '')")
        guard !result.rows.isEmpty else { return ["the server did not answer the binlog settings query"] }
        var problems: [String] = []
        if result.string(0, 0) != "1" {
            problems.append("the binlog is off: start the server with log_bin (and server_id)")
        }
        let format = result.string(0, 1) ?? ""
        if format.uppercased() != "ROW" {
            problems.append("binlog_format is \(format): binlog mode needs binlog_format=ROW")
        }
        let image = result.string(0, 2) ?? ""
        if image.uppercased() != "FULL" {
            problems.append("binlog_row_image is \(image): binlog mode needs binlog_row_image=FULL")
        }
        let metadata = result.string(0, 3) ?? ""
        if metadata.uppercased() != "FULL" {
            problems.append(
                "binlog_row_metadata is \(metadata.isEmpty ? "not supported" : metadata): binlog mode needs binlog_row_metadata=FULL (MariaDB 10.5+, MySQL 8.0.1+) for column names"
            )
        }
        return problems
    }

    /// The binlog file and offset the server writes next.
    func binlogEnd() async throws -> (file: String, position: UInt64)? {
        let result = try await connection.query("SHOW MASTER STATUS")
        guard !result.rows.isEmpty, let file = result.string(0, 0), let position = result.int64(0, 1) else {
            return nil
        }
        return (file, UInt64(position))
    }

    /// The binlog files the server still holds.
    func binlogFiles() async throws -> Set<String> {
        let result = try await connection.query("SHOW BINARY LOGS")
        return Set(result.rows.indices.compactMap { result.string($0, 0) })
    }

    func checkpointText(transport: String) async throws -> String? {
        try await connection.query(
            "SELECT checkpoint FROM \(MySQLChangeLogSchema.checkpoints) WHERE transport = ?", [.text(transport)]
        ).scalar
    }

    /// Moves the checkpoint from `current` to `target` (creates it when `current` is nil); false
    /// when it was no longer `current` (another bridge moved it).
    func moveCheckpoint(transport: String, from current: String?, to target: String) async throws -> Bool {
        if let current {
            return try await connection.query(
                """
                UPDATE \(MySQLChangeLogSchema.checkpoints) SET checkpoint = ?, updated_at = CURRENT_TIMESTAMP(6)
                 WHERE transport = ? AND checkpoint = ?
                """, [.text(target), .text(transport), .text(current)]
            ).affectedRows == 1
        }
        return try await connection.query(
            "INSERT IGNORE INTO \(MySQLChangeLogSchema.checkpoints) (transport, checkpoint) VALUES (?, ?)",
            [.text(transport), .text(target)]
        ).affectedRows == 1
    }

    /// Collation id → character set name.
    func collations() async throws -> MySQLCharsets {
        let result = try await connection.query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS")
        var names: [Int: String] = [:]
        for row in result.rows.indices {
            if let id = result.int64(row, 0), let name = result.string(row, 1) { names[Int(id)] = name.lowercased() }
        }
        return MySQLCharsets(names: names)
    }

    /// JSON columns of `schema.table` (MySQL's `json` type, or MariaDB's `json_valid` check).
    func jsonColumns(schema: String, table: String) async throws -> Set<String> {
        let result = try await connection.query(
            """
            SELECT c.COLUMN_NAME FROM information_schema.COLUMNS c
             WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
               AND (c.DATA_TYPE = 'json' OR EXISTS (
                    SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                     WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                       AND REPLACE(k.CHECK_CLAUSE, '`', '') = CONCAT('json_valid(', c.COLUMN_NAME, ')')))
            """, [.text(schema), .text(table)])
        return Set(result.rows.indices.compactMap { result.string($0, 0) })
    }

    /// A change that cannot be an event (a row of a rows event that does not decode), recorded
    /// with its reason.
    func recordUndecodable(transport: String, position: String, entityType: String, reason: String) async throws {
        try await connection.query(
            """
            INSERT IGNORE INTO \(MySQLChangeLogSchema.deadLetters)
              (transport, change_id, event_id, entity_type, reason, event) VALUES (?, ?, '', ?, ?, '')
            """, [.text(transport), .text(position), .text(entityType), .text(reason)])
    }

    /// Records set-aside changes of any position type (idempotent per change).
    func recordDeadLetters<Position>(
        transport: String, _ changes: [SetAsideChange<Position>], changeID: (Position) -> String
    ) async throws {
        for change in changes {
            try await connection.query(
                """
                INSERT IGNORE INTO \(MySQLChangeLogSchema.deadLetters)
                  (transport, change_id, event_id, entity_type, reason, event) VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(transport), .text(changeID(change.record.position)), .text(change.record.eventID),
                    .text(change.record.entityType), .text(change.reason),
                    .text(String(decoding: change.record.payload, as: UTF8.self)),
                ])
        }
    }
}
