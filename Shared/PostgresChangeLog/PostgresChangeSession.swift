import BridgeEngine
import Contracts
import Synchronization

/// The leader's session: one connection that holds the advisory lock and does all the work.
public final class PostgresChangeSession: ChangeSession {
    public typealias Position = Int64

    let store: ChangeLogStore
    let transportName: String
    /// The event's `source`, as JSON.
    let quotedSource: [UInt8]
    let sweepRestart: Duration = .seconds(1)

    private struct Sweep {
        /// Keyset position of the current sweep over unpublished rows. A sweep restarts from the
        /// beginning when it reaches the end or after `sweepRestart`.
        var after: Int64 = 0
        var started = ContinuousClock.now
        /// The transactions in progress when the last batch was read (`pg_snapshot_xip`, comma
        /// separated). A row with an id at or below `after` that appears later belongs to one of
        /// them (a transaction that starts later takes a higher id): the next read takes those
        /// rows first, so a writer's later row never overtakes one of its earlier rows.
        var inProgress = ""
    }

    // A read and a mark may run at the same time (see `ChangeSession`); each touches its own state.
    private let sweep = Mutex(Sweep())
    private let checkpoint: Mutex<Int64?>

    init(store: ChangeLogStore, transportName: String, checkpoint: Int64?) {
        self.store = store
        self.transportName = transportName
        self.checkpoint = Mutex(checkpoint)
        self.quotedSource = Array(FastJSON.quoted(transportName).utf8)
    }

    public func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<Int64>] {
        let position = sweep.withLock { sweep -> (after: Int64, inProgress: String)? in
            let restartDue = ContinuousClock.now - sweep.started > sweepRestart
            switch mode {
            case .next: if restartDue { sweep = Sweep() }
            case .restart: sweep = Sweep()
            case .prefetch:
                // The rows returned last are not marked yet: a restart now would read them again.
                // Returning nothing makes the engine wait for the marks and read with `.next`, so
                // a long backlog drain still restarts its sweep every `sweepRestart`.
                guard sweep.after > 0, !restartDue else { return nil }
            }
            return (sweep.after, sweep.inProgress)
        }
        guard let (after, inProgress) = position else { return [] }
        let queryStart = ContinuousClock.now
        let (rows, nowInProgress) = try await store.readPending(
            after: after, inProgress: inProgress, limit: limit, quotedSource: quotedSource)
        store.logger.trace("batch read", metadata: ["bridge.read": "\(ContinuousClock.now - queryStart)"])
        let records = rows.map { row in
            ChangeRecord(
                eventID: row.eventID, position: row.id, cursor: row.id, source: transportName,
                entityType: row.entityType, operation: row.operation, payload: row.payload)
        }
        sweep.withLock { sweep in
            // Late rows come first (ids at or below `after`); the sweep moves on by the others.
            let forward = records.reduce(0) { $0 + ($1.position > after ? 1 : 0) }
            let reached = max(after, records.last?.position ?? after)
            if mode != .prefetch, forward < limit {
                sweep = Sweep()
            } else {
                sweep.after = reached
            }
            sweep.inProgress = nowInProgress
        }
        return records
    }

    public func setAside(_ changes: [SetAsideChange<Int64>]) async throws {
        try await store.recordBridgeDeadLetters(
            changes.map { change in
                ChangeLogStore.BridgeDeadLetter(
                    transport: transportName, changeID: change.record.position, eventID: change.record.eventID,
                    entityType: change.record.entityType, reason: change.reason, event: change.record.payload)
            })
    }

    /// Marks the rows and moves the checkpoint in one statement (one round trip, one commit),
    /// fenced: if another bridge moved the checkpoint, this one is no longer the leader.
    public func markPublished(_ positions: [Int64], checkpoint newCursor: Int64?) async throws {
        let current = checkpoint.withLock { $0 }
        let target = newCursor.map { max(current ?? $0, $0) }
        guard try await store.markPublished(ids: positions, transport: transportName, current: current, target: target)
        else { throw ChangeLogError(.leadershipLost, "the checkpoint was moved by another bridge") }
        if let target { checkpoint.withLock { $0 = target } }
    }

    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        try await store.purgeChangeLog(olderThan: age, limit: limit)
    }

    public func close() async {
        await store.close()
    }
}
