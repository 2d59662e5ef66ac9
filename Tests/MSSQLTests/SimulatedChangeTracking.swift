import BridgeEngine
import Contracts
import Logging
import MSSQLChangeLog
import Synchronization

/// SQL Server's Change Tracking simulated in memory, as `CHANGETABLE(CHANGES …)` behaves: each
/// committed transaction takes the next version; a row's net change since a version is its last
/// operation (insert then update reads as insert, anything then delete as delete) with the row as
/// it is now; cleanup raises the minimum valid version; a session lock per transport.
final class SimulatedChangeTracking: ChangeTrackingDatabase, Sendable {
    struct State {
        var version: Int64 = 0
        var minValid: Int64 = 0
        var enabled = true
        /// table → key → (version of the last change, first operation since creation, current row)
        var changes:
            [String: [String: (version: Int64, created: Int64, operation: Operation, row: [String: JSONValue]?)]] = [:]
        var checkpoints: [String: [String: Int64]] = [:]
        var deadLetters: [String: [String]] = [:]
        var lockHolder: [String: ObjectIdentifier] = [:]
    }

    let state = Mutex(State())
    let table: String

    init(table: String) { self.table = table }

    /// Commits one transaction writing `rows` (key → row; nil deletes).
    func commit(_ rows: [(key: String, row: [String: JSONValue]?)]) {
        state.withLock { state in
            state.version += 1
            for (key, row) in rows {
                let previous = state.changes[table]?[key]
                let operation: Operation = row == nil ? .delete : (previous?.row == nil ? .insert : .update)
                state.changes[table, default: [:]][key] = (
                    state.version, previous?.created ?? state.version, operation, row
                )
            }
        }
    }

    /// Change Tracking's cleanup past everything committed so far.
    func expireAll() {
        state.withLock { $0.minValid = $0.version + 1 }
    }

    func lead(transport: String, logger: Logger) async throws -> Connection {
        let connection = Connection(database: self, transport: transport)
        while true {
            try Task.checkCancellation()
            let granted = state.withLock { state -> Bool in
                guard state.lockHolder[transport] == nil else { return false }
                state.lockHolder[transport] = ObjectIdentifier(connection)
                return true
            }
            if granted { return connection }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func isReachable() async -> Bool { true }

    final class Connection: ChangeTrackingConnection, Sendable {
        let database: SimulatedChangeTracking
        let transport: String
        let closed = Atomic<Bool>(false)

        init(database: SimulatedChangeTracking, transport: String) {
            self.database = database
            self.transport = transport
        }

        func check() throws {
            if closed.load(ordering: .relaxed) { throw BridgeError.leadershipLost() }
        }

        func currentVersion() async throws -> Int64 {
            try check()
            return try database.state.withLock { state in
                guard state.enabled else { throw MSSQLError(.changeTrackingDisabled, "Change Tracking is off") }
                return state.version
            }
        }

        func checkpoints(transport: String) async throws -> [String: Int64] {
            try check()
            return database.state.withLock { $0.checkpoints[transport] ?? [:] }
        }

        func changes(tables: [String], after: Int64, limit: Int) async throws -> ChangeTrackingBatch {
            try check()
            return try database.state.withLock { state in
                guard state.enabled else {
                    throw MSSQLError(
                        .changeTrackingDisabled, "Change Tracking is not enabled for \(tables.joined(separator: ", "))")
                }
                var rows: [ChangeTrackingRow] = []
                for table in tables {
                    for (key, change) in state.changes[table] ?? [:]
                    where change.version > after && change.version <= state.version {
                        // Net operation relative to `after`: created after it reads as an insert.
                        var operation = change.operation
                        if change.row != nil { operation = change.created > after ? .insert : .update }
                        if change.row == nil, change.created > after { continue }  // born and gone since
                        rows.append(
                            ChangeTrackingRow(
                                table: table, version: change.version, operation: operation, key: key, row: change.row))
                    }
                }
                rows.sort { $0.position < $1.position }
                // Whole versions, about `limit` rows.
                var complete = true
                if limit == 0 {
                    rows = []
                } else if rows.count > limit {
                    let cut = rows[limit - 1].version
                    complete = rows.last?.version == cut
                    rows = rows.filter { $0.version <= cut }
                }
                return ChangeTrackingBatch(
                    currentVersion: state.version,
                    minValidVersions: Dictionary(uniqueKeysWithValues: tables.map { ($0, state.minValid) }),
                    rows: rows, complete: complete)
            }
        }

        func moveCheckpoints(transport: String, tables: [String], from current: Int64?, to version: Int64) async throws
            -> Bool
        {
            try check()
            return database.state.withLock { state in
                let existing = state.checkpoints[transport] ?? [:]
                if let current {
                    guard tables.allSatisfy({ existing[$0] == current }) else { return false }
                } else {
                    guard tables.allSatisfy({ existing[$0] == nil }) else { return false }
                }
                for table in tables { state.checkpoints[transport, default: [:]][table] = version }
                return true
            }
        }

        func setAside(transport: String, _ changes: [SetAsideChange<ChangeTrackingPosition>]) async throws {
            try check()
            database.state.withLock { state in
                for change in changes where !(state.deadLetters[transport] ?? []).contains(change.record.position.key) {
                    state.deadLetters[transport, default: []].append(change.record.position.key)
                }
            }
        }

        func close() async {
            closed.store(true, ordering: .relaxed)
            database.state.withLock { state in
                if state.lockHolder[transport] == ObjectIdentifier(self) { state.lockHolder[transport] = nil }
            }
        }
    }
}
