import BridgeEngine
import MariaDB

/// The trigger-mode leader's connections: the one holding `GET_LOCK` does all the work; a
/// second one reads uncommitted rows (it sees the ids open transactions took).
public struct MySQLChangeLogConnection: ChangeLogConnection {
    let connection: MariaDBConnection
    let dirty: MariaDBConnection
    let transportName: String

    var store: MySQLChangeLogStore { MySQLChangeLogStore(connection: connection) }

    public func pendingRows(after: Int64, limit: Int) async throws -> [ChangeLogRow] {
        try await store.pendingRows(after: after, limit: limit)
    }

    public func pendingIDsIncludingOpen(after: Int64, through last: Int64) async throws -> [Int64] {
        try await MySQLChangeLogStore(connection: dirty).pendingIDs(after: after, through: last)
    }

    public func markPublished(ids: [Int64], current: Int64?, target: Int64?) async throws -> Bool {
        try await store.markPublished(ids: ids, transport: transportName, current: current, target: target)
    }

    public func recordMalformed(_ malformed: ChangeLogRow.Malformed) async throws {
        try await store.recordMalformed(
            transport: transportName, id: malformed.id, eventID: malformed.eventID, entityType: malformed.entityType,
            reason: malformed.reason, row: malformed.row)
    }

    public func recordDeadLetters(_ changes: [SetAsideChange<Int64>]) async throws {
        try await store.recordDeadLetters(transport: transportName, changes) { String($0) }
    }

    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        try await store.purgePublished(olderThan: age, limit: limit)
    }

    public func close() async {
        await dirty.close()
        await connection.close()
    }
}
