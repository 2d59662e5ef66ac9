import BridgeEngine
import MariaDB

/// The bridge's SQL on the change log, checkpoint and dead-letter tables (trigger mode). Every
/// statement of the bridge's own goes through here.
struct MySQLChangeLogStore: Sendable {
    let connection: any MariaDBQuerying

    static let rowColumns = """
        id, event_id, entity_type, entity_id, operation, before_image, after_image, tenant_id,
        CAST(UNIX_TIMESTAMP(captured_at) * 1000000 AS SIGNED)
        """

    /// Leadership: `GET_LOCK` on this connection; it dies with the connection (process killed,
    /// network lost), and the server releases it.
    func tryLeaderLock(transport: String) async throws -> Bool {
        try await connection.query(
            "SELECT GET_LOCK(?, 0)", [.text(MySQLChangeLogSchema.lockName(transport: transport))]
        )
        .scalar == "1"
    }

    /// Reads see every commit so far (each statement its own snapshot).
    func prepareSession() async throws {
        try await connection.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    }

    /// The transport's checkpoint (a change-log id), nil when none; throws
    /// ``BridgeError/Code/foreignCheckpoint`` for one binlog mode wrote.
    func checkpoint(transport: String) async throws -> Int64? {
        guard
            let text = try await connection.query(
                "SELECT checkpoint FROM \(MySQLChangeLogSchema.checkpoints) WHERE transport = ?", [.text(transport)]
            ).scalar
        else { return nil }
        guard let id = Int64(text) else {
            throw BridgeError(
                .foreignCheckpoint,
                "the checkpoint '\(text)' of transport '\(transport)' is a binlog position, not a change-log id: binlog mode wrote it; give trigger mode its own bridge.transport_name (or delete that row of \(MySQLChangeLogSchema.checkpoints))"
            )
        }
        return id
    }

    /// Unpublished ids in `(after, last]`; on a READ UNCOMMITTED connection this includes the
    /// rows of transactions still open.
    func pendingIDs(after: Int64, through last: Int64) async throws -> [Int64] {
        let result = try await connection.query(
            """
            SELECT id FROM \(MySQLChangeLogSchema.changeLog)
             WHERE published_at IS NULL AND id > \(after) AND id <= \(last) ORDER BY id
            """)
        return result.rows.indices.compactMap { result.int64($0, 0) }
    }

    /// Makes this connection's reads see uncommitted rows (the session's second connection).
    func readUncommitted() async throws {
        try await connection.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
    }

    /// Unpublished rows after `after`, in id order, at most `limit`.
    func pendingRows(after: Int64, limit: Int) async throws -> [ChangeLogRow] {
        let result = try await connection.query(
            """
            SELECT \(Self.rowColumns) FROM \(MySQLChangeLogSchema.changeLog)
             WHERE published_at IS NULL AND id > \(after) ORDER BY id LIMIT \(limit)
            """)
        return result.rows.indices.map { index in
            let row = result.rows[index]
            return ChangeLogRow(
                id: result.int64(index, 0) ?? 0, eventID: result.string(index, 1) ?? "",
                entityType: result.string(index, 2) ?? "", entityID: result.string(index, 3) ?? "",
                operation: result.string(index, 4) ?? "", before: row[5], after: row[6],
                tenantID: result.string(index, 7), capturedMicroseconds: result.int64(index, 8) ?? 0,
                text: { row.map { $0.map { String(decoding: $0, as: UTF8.self) } ?? "NULL" }.joined(separator: "\t") })
        }
    }

    /// Marks `ids` published and moves the checkpoint from `current` to `target` in one
    /// transaction; false when the checkpoint was no longer `current` (another bridge moved it).
    func markPublished(ids: [Int64], transport: String, current: Int64?, target: Int64?) async throws -> Bool {
        try await connection.query("START TRANSACTION")
        do {
            if !ids.isEmpty {
                try await connection.query(
                    """
                    UPDATE \(MySQLChangeLogSchema.changeLog) SET published_at = CURRENT_TIMESTAMP(6)
                     WHERE id IN (\(ids.map(String.init).joined(separator: ","))) AND published_at IS NULL
                    """)
            }
            var moved = true
            if let target, target != current {
                if let current {
                    moved =
                        try await connection.query(
                            """
                            UPDATE \(MySQLChangeLogSchema.checkpoints) SET checkpoint = ?, updated_at = CURRENT_TIMESTAMP(6)
                             WHERE transport = ? AND checkpoint = ?
                            """, [.text(String(target)), .text(transport), .text(String(current))]
                        ).affectedRows == 1
                } else {
                    moved =
                        try await connection.query(
                            "INSERT IGNORE INTO \(MySQLChangeLogSchema.checkpoints) (transport, checkpoint) VALUES (?, ?)",
                            [.text(transport), .text(String(target))]
                        ).affectedRows == 1
                }
            }
            guard moved else {
                try await connection.query("ROLLBACK")
                return false
            }
            try await connection.query("COMMIT")
            return true
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }

    /// A change-log row that could not be made into an event: recorded with its reason and
    /// marked, so the rows after it flow on.
    func recordMalformed(transport: String, id: Int64, eventID: String, entityType: String, reason: String, row: String)
        async throws
    {
        try await connection.query(
            """
            INSERT IGNORE INTO \(MySQLChangeLogSchema.deadLetters)
              (transport, change_id, event_id, entity_type, reason, event) VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(transport), .text(String(id)), .text(eventID), .text(entityType), .text(reason), .text(row)])
        try await connection.query(
            "UPDATE \(MySQLChangeLogSchema.changeLog) SET published_at = CURRENT_TIMESTAMP(6) WHERE id = \(id)")
    }

    /// Deletes up to `limit` published rows captured more than `age` ago; returns how many.
    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        Int(
            try await connection.query(
                """
                DELETE FROM \(MySQLChangeLogSchema.changeLog)
                 WHERE published_at IS NOT NULL
                   AND captured_at < CURRENT_TIMESTAMP(6) - INTERVAL \(max(0, age.components.seconds)) SECOND
                 ORDER BY id LIMIT \(limit)
                """
            ).affectedRows)
    }

    /// Unpublished rows and the age of the oldest, in seconds.
    func backlog() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        let result = try await connection.query(
            """
            SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(captured_at), CURRENT_TIMESTAMP(6)), 0)
              FROM \(MySQLChangeLogSchema.changeLog) WHERE published_at IS NULL
            """)
        guard !result.rows.isEmpty else { return (0, 0) }
        return (result.int64(0, 0) ?? 0, Double(result.int64(0, 1) ?? 0) / 1_000_000)
    }
}
