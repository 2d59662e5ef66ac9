import BridgeEngine
import Contracts
import Logging
import MariaDB
import Synchronization

/// The leader's session (trigger mode): one connection that holds the `GET_LOCK` and does all the
/// work. Positions are change-log ids; every row is marked on its own and ends its transaction
/// for the engine (late commits are found by the sweep, as with PostgreSQL).
public final class MySQLChangeSession: ChangeSession {
    public typealias Position = Int64

    let store: MySQLChangeLogStore
    let connection: MariaDBConnection
    let transportName: String
    let logger: Logger
    let sweepRestart: Duration = .seconds(1)
    /// How long rows are held back behind a transaction still open (its rows have lower ids):
    /// past this, the rows after it flow on (a transaction open longer may see its changes
    /// published after later ones of other transactions).
    let holdLimit: Duration

    private struct Sweep {
        var after: Int64 = 0
        var started = ContinuousClock.now
    }

    private let sweep = Mutex(Sweep())
    /// Change-log ids of transactions still open when a read passed them (seen by a dirty read,
    /// not by a committed one), with when each was first seen.
    private let open = Mutex<[Int64: ContinuousClock.Instant]>([:])
    private let checkpoint: Mutex<Int64?>
    /// A second connection that reads uncommitted rows: it sees the ids open transactions took.
    let dirty: MariaDBConnection

    init(
        connection: MariaDBConnection, dirty: MariaDBConnection, transportName: String, checkpoint: Int64?,
        holdLimit: Duration = .seconds(5), logger: Logger
    ) {
        self.connection = connection
        self.dirty = dirty
        self.store = MySQLChangeLogStore(connection: connection)
        self.transportName = transportName
        self.checkpoint = Mutex(checkpoint)
        self.holdLimit = holdLimit
        self.logger = logger
    }

    /// Unpublished rows in id order, never past a row whose transaction is still open (within
    /// `holdLimit`): a writer's later row never overtakes its earlier one, and a transaction's
    /// rows go in order. Committed rows below the sweep (late commits) are found when the sweep
    /// restarts, every `sweepRestart` and whenever it reaches the end.
    public func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<Int64>] {
        let start = sweep.withLock { sweep -> Int64? in
            let restartDue = ContinuousClock.now - sweep.started > sweepRestart
            switch mode {
            case .next: if restartDue { sweep = Sweep() }
            case .restart: sweep = Sweep()
            case .prefetch: guard sweep.after > 0, !restartDue else { return nil }
            }
            return sweep.after
        }
        guard let after = start else { return [] }
        let committed = try await store.pendingRows(after: after, limit: limit)
        let ids = committed.rows.indices.compactMap { committed.int64($0, 0) }
        var fence = Int64.max
        if let last = ids.last {
            let inRange = try await MySQLChangeLogStore(connection: dirty).pendingIDs(after: after, through: last)
            let visible = Set(ids)
            let now = ContinuousClock.now
            fence = open.withLock { open in
                for id in inRange where !visible.contains(id) { open[id] = open[id] ?? now }
                // Committed or rolled back since: no longer open.
                let stillOpen = Set(inRange)
                open = open.filter { id, _ in stillOpen.contains(id) || id > last }
                return open.filter { id, seen in id > after && id <= last && now - seen < holdLimit }.keys.min()
                    ?? Int64.max
            }
        }
        let kept = committed.rows.indices.filter { (committed.int64($0, 0) ?? 0) < fence }
        var slice = committed
        slice.rows = kept.map { committed.rows[$0] }
        let records = try await decode(slice)
        let reached = kept.last.flatMap { committed.int64($0, 0) } ?? after
        sweep.withLock { sweep in
            if mode != .prefetch, committed.rows.count < limit || fence != Int64.max {
                sweep = Sweep()
            } else {
                sweep.after = max(sweep.after, reached)
            }
        }
        return records
    }

    /// Events of the rows; rows that cannot be events are set aside and marked at once.
    private func decode(_ result: MariaDBResult) async throws -> [ChangeRecord<Int64>] {
        var records: [ChangeRecord<Int64>] = []
        records.reserveCapacity(result.rows.count)
        for index in result.rows.indices {
            switch MySQLChangeRow.record(result, index, source: transportName) {
            case .success(let record): records.append(record)
            case .failure(let malformed):
                logger.error(
                    "change-log row cannot be an event: set aside",
                    metadata: ["bridge.cursor": "\(malformed.id)", "error": "\(malformed.reason)"])
                try await store.recordMalformed(
                    transport: transportName, id: malformed.id, eventID: malformed.eventID,
                    entityType: malformed.entityType, reason: malformed.reason, row: malformed.row)
            }
        }
        return records
    }

    public func setAside(_ changes: [SetAsideChange<Int64>]) async throws {
        try await store.recordDeadLetters(transport: transportName, changes) { String($0) }
    }

    public func markPublished(_ positions: [Int64], checkpoint newCursor: Int64?) async throws {
        let current = checkpoint.withLock { $0 }
        let target = newCursor.map { max(current ?? $0, $0) }
        guard try await store.markPublished(ids: positions, transport: transportName, current: current, target: target)
        else { throw MySQLLeadershipLost() }
        if let target { checkpoint.withLock { $0 = target } }
    }

    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        try await store.purgePublished(olderThan: age, limit: limit)
    }

    public func close() async {
        await dirty.close()
        await connection.close()
    }
}
