import Contracts
import Logging
import Synchronization

/// The leader's session on a change-log table that triggers fill (trigger mode of mysql-bridge
/// and mssql-bridge). Positions are change-log ids; every row is marked on its own and ends its
/// transaction for the engine (late commits are found by the sweep, as with PostgreSQL).
///
/// Ids are taken when a row is inserted, not when its transaction commits, so a committed read
/// can see id 12 while 11's transaction is still open. A dirty read of the same range shows the
/// ids open transactions hold: the batch stops before the lowest of them for up to `holdLimit`,
/// so a writer's later row never overtakes its earlier one and a transaction's rows go in order.
public final class ChangeLogSession<Connection: ChangeLogConnection>: ChangeSession {
    public typealias Position = Int64

    let connection: Connection
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

    public init(
        connection: Connection, transportName: String, checkpoint: Int64?, holdLimit: Duration = .seconds(5),
        logger: Logger
    ) {
        self.connection = connection
        self.transportName = transportName
        self.checkpoint = Mutex(checkpoint)
        self.holdLimit = holdLimit
        self.logger = logger
    }

    /// Unpublished rows in id order, never past a row whose transaction is still open (within
    /// `holdLimit`). Committed rows below the sweep (late commits) are found when the sweep
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
        let committed = try await connection.pendingRows(after: after, limit: limit)
        var fence = Int64.max
        if let last = committed.last?.id {
            let inRange = try await connection.pendingIDsIncludingOpen(after: after, through: last)
            let visible = Set(committed.map(\.id))
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
        let kept = committed.prefix { $0.id < fence }
        let records = try await decode(kept)
        let reached = kept.last?.id ?? after
        sweep.withLock { sweep in
            if mode != .prefetch, committed.count < limit || fence != Int64.max {
                sweep = Sweep()
            } else {
                sweep.after = max(sweep.after, reached)
            }
        }
        return records
    }

    /// Events of the rows; rows that cannot be events are set aside and marked at once.
    private func decode(_ rows: ArraySlice<ChangeLogRow>) async throws -> [ChangeRecord<Int64>] {
        var records: [ChangeRecord<Int64>] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            switch row.record(source: transportName) {
            case .success(let record): records.append(record)
            case .failure(let malformed):
                logger.error(
                    "change-log row cannot be an event: set aside",
                    metadata: ["bridge.cursor": "\(malformed.id)", "error": "\(malformed.reason)"])
                try await connection.recordMalformed(malformed)
            }
        }
        return records
    }

    public func setAside(_ changes: [SetAsideChange<Int64>]) async throws {
        try await connection.recordDeadLetters(changes)
    }

    public func markPublished(_ positions: [Int64], checkpoint newCursor: Int64?) async throws {
        let current = checkpoint.withLock { $0 }
        let target = newCursor.map { max(current ?? $0, $0) }
        guard try await connection.markPublished(ids: positions, current: current, target: target) else {
            throw BridgeError.leadershipLost()
        }
        if let target { checkpoint.withLock { $0 = target } }
    }

    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        try await connection.purgePublished(olderThan: age, limit: limit)
    }

    public func close() async {
        await connection.close()
    }
}
