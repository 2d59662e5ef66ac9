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
    /// How long an id the sweep passed without seeing it is watched for (a transaction open
    /// that long may see its changes published after later ones of other transactions).
    let gapWatch: Duration = .seconds(60)
    /// At most this many passed ids are watched; a wider jump is not watched (the restart finds them).
    let maxGaps = 10_000

    private struct Sweep {
        var after: Int64 = 0
        var started = ContinuousClock.now
    }

    private let sweep = Mutex(Sweep())
    /// Ids the sweep passed that were not visible (an open transaction's rows, or a rollback's):
    /// the next reads take those that appear first, so a writer's later row never overtakes an
    /// earlier row of the same transaction. With the time each was first missed.
    private let gaps = Mutex<[Int64: ContinuousClock.Instant]>([:])
    private let checkpoint: Mutex<Int64?>

    init(connection: MariaDBConnection, transportName: String, checkpoint: Int64?, logger: Logger) {
        self.connection = connection
        self.store = MySQLChangeLogStore(connection: connection)
        self.transportName = transportName
        self.checkpoint = Mutex(checkpoint)
        self.logger = logger
    }

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
        var records: [ChangeRecord<Int64>] = []
        // Late rows first: ids passed earlier that have appeared since.
        let now = ContinuousClock.now
        let watched = gaps.withLock { gaps -> [Int64] in
            gaps = gaps.filter { now - $0.value < gapWatch }
            return after == 0 ? [] : gaps.keys.filter { $0 <= after }.sorted()
        }
        if !watched.isEmpty {
            let late = try await store.pendingRows(ids: watched)
            records += try await decode(late)
            let found = Set(records.map(\.position))
            gaps.withLock { gaps in for id in found { gaps[id] = nil } }
        }
        let forward = try await store.pendingRows(after: after, limit: limit)
        let forwardRecords = try await decode(forward)
        // Ids passed without a row: watched from now on.
        var previous = after
        var missed: [Int64] = []
        if after > 0 {
            for id in forward.rows.indices.compactMap({ forward.int64($0, 0) }) {
                if id - previous > 1, id - previous < 1_000 { missed += (previous + 1)..<id }
                previous = id
            }
        }
        if !missed.isEmpty {
            gaps.withLock { gaps in
                for id in missed where gaps.count < maxGaps { gaps[id] = gaps[id] ?? now }
            }
        }
        records += forwardRecords
        let reached = forward.rows.indices.compactMap { forward.int64($0, 0) }.last ?? after
        sweep.withLock { sweep in
            if mode != .prefetch, forward.rows.count < limit {
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
        await connection.close()
    }
}
