import BridgeEngine
import Contracts
import FreeTDS

/// The trigger-mode leader's session: the connection that holds the `sp_getapplock` does all
/// the work; its committed reads skip rows of open transactions (`READPAST`) and its dirty reads
/// (`NOLOCK`) see their ids.
public struct SQLServerChangeLogConnection: ChangeLogConnection {
    let connection: TDSConnection
    let transportName: String

    /// The checkpoint (a change-log id) of `transport`, nil when none yet.
    func checkpoint() async throws -> Int64? {
        let result = try await connection.query(MSSQLStatements.changeLogCheckpoint(transport: transportName))
        guard !result.rows.isEmpty, case .int(let id) = try result.json(0, 0) else { return nil }
        return id
    }

    public func pendingRows(after: Int64, limit: Int) async throws -> [ChangeLogRow] {
        let result = try await connection.query(MSSQLStatements.pendingRows(after: after, limit: limit))
        return try result.rows.indices.map { index in
            func int(_ column: Int) throws -> Int64 {
                if case .int(let value) = try result.json(index, column) { return value }
                return 0
            }
            let row = result.rows[index]
            let columns = result.columns
            return ChangeLogRow(
                id: try int(0), eventID: result.string(index, 1) ?? "", entityType: result.string(index, 2) ?? "",
                entityID: result.string(index, 3) ?? "", operation: result.string(index, 4) ?? "",
                before: row[5], after: row[6], tenantID: result.string(index, 7),
                capturedMicroseconds: try int(8),
                text: {
                    zip(columns, row).map { "\($0)=\($1.map { String(decoding: $0, as: UTF8.self) } ?? "NULL")" }
                        .joined(separator: "\t")
                })
        }
    }

    public func pendingIDsIncludingOpen(after: Int64, through last: Int64) async throws -> [Int64] {
        let result = try await connection.query(MSSQLStatements.pendingIDsIncludingOpen(after: after, through: last))
        return try result.rows.indices.compactMap { index in
            if case .int(let id) = try result.json(index, 0) { return id }
            return nil
        }
    }

    public func markPublished(ids: [Int64], current: Int64?, target: Int64?) async throws -> Bool {
        let result = try await connection.query(
            MSSQLStatements.markPublished(ids: ids, transport: transportName, current: current, target: target))
        guard case .int(let moved)? = try? result.json(0, 0) else { return false }
        return moved == 1
    }

    public func recordMalformed(_ malformed: ChangeLogRow.Malformed) async throws {
        try await connection.query(
            MSSQLStatements.recordMalformed(
                transport: transportName, id: malformed.id, eventID: malformed.eventID,
                entityType: malformed.entityType, reason: malformed.reason, row: malformed.row))
    }

    public func recordDeadLetters(_ changes: [SetAsideChange<Int64>]) async throws {
        for change in changes {
            try await connection.query(
                MSSQLStatements.insertDeadLetter(
                    transport: transportName, changeID: String(change.record.position),
                    eventID: change.record.eventID, entityType: change.record.entityType, reason: change.reason,
                    event: String(decoding: change.record.payload, as: UTF8.self)))
        }
    }

    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        let result = try await connection.query(
            MSSQLStatements.purgePublished(olderThanSeconds: age.components.seconds, limit: limit))
        guard case .int(let purged)? = try? result.json(0, 0) else { return 0 }
        return Int(purged)
    }

    public func close() async { await connection.close() }
}
