import BridgeEngine
import Contracts
import Logging
import Synchronization

/// A change source in memory, shaped like a commit-ordered log (a binlog, Change Tracking): each
/// committed transaction gets the next version, its changes share it, and the checkpoint is a
/// transaction's end. Tests script what databases do to a bridge: transactions that commit late,
/// a crash between publish and mark, changes that cannot be published, retention that passes the
/// checkpoint. Event ids are derived (``StableEventID``), as an adapter without stored ids would.
public final class InMemoryChangeSource: ChangeSource {
    /// A change's place: its transaction's commit version and its index in the transaction.
    public struct Position: Comparable, Hashable, Codable, Sendable, CustomStringConvertible {
        public var version: Int64
        public var index: Int

        public init(version: Int64, index: Int) {
            self.version = version
            self.index = index
        }

        public static func < (lhs: Position, rhs: Position) -> Bool {
            (lhs.version, lhs.index) < (rhs.version, rhs.index)
        }

        public var description: String { "\(version).\(index)" }
    }

    /// One change as a test writes it.
    public struct Change: Sendable {
        public var entity: String
        public var key: String
        /// Extra bytes in the row image (to make an event too large to publish).
        public var padding: Int

        public init(entity: String = "item", key: String, padding: Int = 0) {
            self.entity = entity
            self.key = key
            self.padding = padding
        }
    }

    struct Committed {
        var position: Position
        var endsTransaction: Bool
        var change: Change
        var occurredAt: Timestamp
    }

    struct State {
        var log: [Committed] = []
        var version: Int64 = 0
        var checkpoint: Position?
        /// Changes up to this version are gone (the database's retention).
        var expiredThrough: Int64 = 0
        var setAside: [Position: String] = [:]
        var leader = false
        /// Mark calls left before one fails as if the process died (nil: never).
        var marksBeforeCrash: Int?
        var marks = 0
        /// Every checkpoint stored, in order.
        var checkpoints: [Position] = []
        /// The positions that end a transaction.
        var transactionEnds: Set<Position> = []
    }

    public let transport: String
    let state = Mutex(State())

    public init(transport: String = "memory") {
        self.transport = transport
    }

    /// Commits one transaction now.
    public func commit(_ changes: [Change]) {
        state.withLock { state in
            state.version += 1
            for (index, change) in changes.enumerated() {
                if index == changes.count - 1 {
                    state.transactionEnds.insert(Position(version: state.version, index: index))
                }
                state.log.append(
                    Committed(
                        position: Position(version: state.version, index: index),
                        endsTransaction: index == changes.count - 1, change: change, occurredAt: .now()))
            }
        }
    }

    /// A transaction begun now and committed later: in a commit-ordered log it takes its
    /// version when it commits, after the transactions that committed meanwhile.
    public func begin(_ changes: [Change]) -> @Sendable () -> Void {
        { self.commit(changes) }
    }

    /// Retention passes everything committed so far.
    public func expireAll() {
        state.withLock { $0.expiredThrough = $0.version }
    }

    /// The next `count` marks succeed, the one after fails as a killed process would (nothing
    /// stored), and leadership is lost.
    public func crash(afterMarks count: Int) {
        state.withLock { $0.marksBeforeCrash = count }
    }

    /// The stored checkpoint.
    public var checkpoint: Position? { state.withLock { $0.checkpoint } }
    /// Every checkpoint stored, in order, and whether each was a transaction's end.
    public var checkpointHistory: [(position: Position, endsTransaction: Bool)] {
        state.withLock { state in state.checkpoints.map { ($0, state.transactionEnds.contains($0)) } }
    }
    /// Whether a session holds leadership.
    public var hasLeader: Bool { state.withLock { $0.leader } }
    /// The changes set aside, with their reasons.
    public var setAside: [Position: String] { state.withLock { $0.setAside } }
    /// The keys of the changes set aside.
    public var setAsideKeys: [String] {
        state.withLock { state in
            state.log.filter { state.setAside[$0.position] != nil }.map(\.change.key)
        }
    }

    public func becomeLeader(logger: Logger) async throws -> InMemoryChangeSession {
        while true {
            try Task.checkCancellation()
            let start: Position? = state.withLock { state in
                guard !state.leader else { return nil }
                state.leader = true
                return state.checkpoint ?? Position(version: 0, index: Int.max)
            }
            if let start { return InMemoryChangeSession(source: self, start: start) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {}

    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        state.withLock { state in
            let pending = state.log.filter { change in state.checkpoint.map { change.position > $0 } ?? true }
            return (Int64(pending.count), 0)
        }
    }

    /// The event of a committed change.
    func record(_ committed: Committed) -> ChangeRecord<Position> {
        let id = StableEventID.derive(
            source: transport, position: committed.position.description, key: committed.change.key)
        let padding = String(repeating: "x", count: committed.change.padding)
        let event = EntityEvent(
            id: id, cursor: committed.position.version, source: transport, entityType: committed.change.entity,
            entityId: committed.change.key, operation: .insert,
            after: ["key": .string(committed.change.key), "padding": .string(padding)],
            occurredAt: committed.occurredAt)
        return ChangeRecord(event: event, position: committed.position, endsTransaction: committed.endsTransaction)
    }
}

/// The leader's session on an ``InMemoryChangeSource``.
public final class InMemoryChangeSession: ChangeSession {
    public typealias Position = InMemoryChangeSource.Position

    let source: InMemoryChangeSource
    /// Where the next `.next`/`.prefetch` read continues, and where `.restart` goes back to.
    private let cursor: Mutex<(readAfter: Position, start: Position)>
    private let closed = Atomic(false)

    init(source: InMemoryChangeSource, start: Position) {
        self.source = source
        self.cursor = Mutex((start, start))
    }

    public var retention: Retention { .database }

    private func checkOpen() throws {
        if closed.load(ordering: .relaxed) { throw LeadershipLost() }
    }

    /// The session's leadership is gone.
    public struct LeadershipLost: Error {}

    public func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<Position>] {
        try checkOpen()
        let committed = try source.state.withLock { state -> [InMemoryChangeSource.Committed] in
            let after = cursor.withLock { cursor in
                if mode == .restart { cursor.readAfter = state.checkpoint ?? cursor.start }
                return cursor.readAfter
            }
            if after.version < state.expiredThrough {
                throw BridgeError.resyncRequired(
                    "retention passed the checkpoint (\(state.checkpoint.map { "\($0)" } ?? "none")): changes through version \(state.expiredThrough) are gone"
                )
            }
            let expired = state.expiredThrough
            return Array(state.log.filter { $0.position > after && $0.position.version > expired }.prefix(limit))
        }
        if let last = committed.last { cursor.withLock { $0.readAfter = last.position } }
        return committed.map(source.record)
    }

    public func setAside(_ changes: [SetAsideChange<Position>]) async throws {
        try checkOpen()
        source.state.withLock { state in
            for change in changes where state.setAside[change.record.position] == nil {
                state.setAside[change.record.position] = change.reason
            }
        }
    }

    public func markPublished(_ positions: [Position], checkpoint: Position?) async throws {
        try checkOpen()
        let crashed = source.state.withLock { state -> Bool in
            if let left = state.marksBeforeCrash {
                if left == 0 {
                    state.marksBeforeCrash = nil
                    return true
                }
                state.marksBeforeCrash = left - 1
            }
            state.marks += 1
            if let checkpoint, state.checkpoint.map({ checkpoint > $0 }) ?? true {
                state.checkpoint = checkpoint
                state.checkpoints.append(checkpoint)
            }
            return false
        }
        if crashed {
            await close()
            throw LeadershipLost()
        }
    }

    public func close() async {
        if !closed.exchange(true, ordering: .relaxed) {
            source.state.withLock { $0.leader = false }
        }
    }
}
