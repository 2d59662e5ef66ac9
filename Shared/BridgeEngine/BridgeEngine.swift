/// BridgeEngine: the loop every bridge shares (pg-bridge, mysql-bridge, mssql-bridge).
///
/// A database adapter implements ``ChangeSource``: it waits for leadership (one publisher per
/// transport name), reads unpublished changes in batches, marks rows published, keeps the
/// checkpoint and signals new changes. The engine owns the rest: pipelined JetStream publishes
/// with `Nats-Msg-Id` = the event id, waiting for every PubAck, marking only what was acked,
/// retries with backoff, metrics. A crash anywhere republishes at most the last two batches, and
/// the stream's duplicate window drops the copies.
import Contracts
import Logging
import Metrics
import NATS
import ServiceLifecycle
import Synchronization

/// A change read from the source, ready to publish: the fields the engine needs for the subject
/// and headers, and the event's wire JSON.
public struct ChangeRecord: Sendable {
    /// The event id as lower-case UUID text (the `Nats-Msg-Id`).
    public var eventID: String
    public var cursor: Int64
    public var source: String
    public var entityType: String
    public var operation: Operation
    public var traceParent: String?
    /// The ``EntityEvent`` as wire JSON.
    public var payload: [UInt8]

    public init(event: EntityEvent) {
        self.init(
            eventID: event.id.lowercasedString, cursor: event.cursor, source: event.source,
            entityType: event.entityType, operation: event.operation, traceParent: event.traceParent,
            payload: FastJSON.encode(event))
    }

    /// A change whose JSON the source wrote itself (it must decode as an ``EntityEvent`` with
    /// these fields).
    public init(
        eventID: String, cursor: Int64, source: String, entityType: String, operation: Operation,
        traceParent: String? = nil, payload: [UInt8]
    ) {
        self.eventID = eventID
        self.cursor = cursor
        self.source = source
        self.entityType = entityType
        self.operation = operation
        self.traceParent = traceParent
        self.payload = payload
    }
}

/// How a batch read relates to the previous one.
public enum ReadMode: Sendable {
    /// Continue after the rows returned last; the source may restart its scan from the beginning
    /// (that is how late-committed rows with lower positions are found).
    case next
    /// Read ahead while the previous rows are being published (not yet marked): continue after
    /// them and never restart; return nothing when a restart is due.
    case prefetch
    /// Start again from the oldest unpublished row (after a failed publish, so order holds).
    case restart
}

/// The leader's handle on the source. Invalid once leadership is lost (then every call throws).
/// The engine runs at most one `readBatch` and one `markPublished` at a time, possibly
/// concurrently with each other (a `.prefetch` read while the previous batch is marked).
public protocol ChangeSession: Sendable {
    /// Unpublished changes, oldest first, at most `limit`. Must include rows whose transaction
    /// committed after later-numbered rows were published (no plain `id > cursor`).
    func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord]
    /// Records changes that cannot be published (an event larger than the server takes, an
    /// entity name that makes no subject) with their reasons, in the source's dead-letter
    /// place, before they are marked like published ones. Must be idempotent per cursor.
    func setAside(_ changes: [SetAsideChange]) async throws
    /// Marks rows published (idempotent) and moves the checkpoint to `checkpoint`.
    func markPublished(cursors: [Int64], checkpoint: Int64) async throws
    /// Deletes up to `limit` published rows that were captured more than `age` ago, oldest first;
    /// returns how many. Unpublished rows are never deleted.
    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int
    /// Releases leadership.
    func close() async
}

/// A change the bridge cannot publish, and why.
public struct SetAsideChange: Sendable {
    public var record: ChangeRecord
    public var reason: String

    public init(record: ChangeRecord, reason: String) {
        self.record = record
        self.reason = reason
    }
}

/// What the bridge does with an event larger than the server takes (`bridge.oversized`).
public enum OversizedPolicy: String, Sendable, CaseIterable {
    /// Set aside in the source's dead-letter table; the rows after it flow on.
    case deadLetter = "dead_letter"
    /// Published without `before`, `after` and `changes`, with `images_omitted: true`; set aside
    /// if even that is too large.
    case omitImages = "omit_images"
}

/// A database adapter.
public protocol ChangeSource: Sendable {
    /// Waits until this replica is the leader for the transport, then returns its session.
    func becomeLeader(logger: Logger) async throws -> any ChangeSession
    /// Calls `signal` whenever new changes may be there; returns when cancelled.
    func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async
    /// Unpublished rows and the age of the oldest, for lag metrics.
    func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double)
    /// What no longer matches the configuration in the source (a captured column dropped or
    /// renamed after install), one line each; empty when all is well.
    func drift() async throws -> [String]
}

extension ChangeSource {
    public func drift() async throws -> [String] { [] }
}

/// Metrics of a bridge (`fraiseql_bridge_*`), labelled with the transport.
struct BridgeMetrics: Sendable {
    let published: Counter
    let batches: Counter
    let rejected: Counter
    let publishFailures: Counter
    let purged: Counter
    let imagesOmitted: Counter
    let publishLatency: Timer
    let leader: Gauge
    let checkpoint: Gauge
    let lagRows: Gauge
    let lagSeconds: Gauge
    let drift: Gauge

    init(transport: String, factory: any MetricsFactory) {
        let dimensions = [("transport", transport)]
        published = Counter(label: "fraiseql_bridge_events_published_total", dimensions: dimensions, factory: factory)
        batches = Counter(label: "fraiseql_bridge_batches_total", dimensions: dimensions, factory: factory)
        rejected = Counter(label: "fraiseql_bridge_events_rejected_total", dimensions: dimensions, factory: factory)
        publishFailures = Counter(
            label: "fraiseql_bridge_publish_failures_total", dimensions: dimensions, factory: factory)
        purged = Counter(label: "fraiseql_bridge_rows_purged_total", dimensions: dimensions, factory: factory)
        imagesOmitted = Counter(
            label: "fraiseql_bridge_images_omitted_total", dimensions: dimensions, factory: factory)
        publishLatency = Timer(
            label: "fraiseql_bridge_publish_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds,
            factory: factory)
        leader = Gauge(label: "fraiseql_bridge_leader", dimensions: dimensions, factory: factory)
        checkpoint = Gauge(label: "fraiseql_bridge_checkpoint_cursor", dimensions: dimensions, factory: factory)
        lagRows = Gauge(label: "fraiseql_bridge_lag_rows", dimensions: dimensions, factory: factory)
        lagSeconds = Gauge(label: "fraiseql_bridge_lag_oldest_seconds", dimensions: dimensions, factory: factory)
        drift = Gauge(label: "fraiseql_bridge_schema_drift", dimensions: dimensions, factory: factory)
    }
}

/// A one-slot wake-up: `signal()` wakes the current or next `wait(timeout:)`.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled, after `timeout`, or when cancelled.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
            self.signal()  // releases the signal waiter if the timeout won
            self.state.withLock { $0.pending = false }
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.signal()
        }
    }
}

/// The bridge: a `Service` that publishes while it is the leader and stands by otherwise.
public final class BridgeService: Service, Sendable {
    private let source: any ChangeSource
    private let jetStream: JetStream
    private let configuration: BridgeSettings
    private let logger: Logger
    private let metrics: BridgeMetrics
    private let leaderFlag = Atomic(false)

    public init(
        source: any ChangeSource, jetStream: JetStream, configuration: BridgeSettings, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.source = source
        self.jetStream = jetStream
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "bridge.transport"] = "\(configuration.transportName)"
        self.logger = logger
        self.metrics = BridgeMetrics(transport: configuration.transportName, factory: metricsFactory)
    }

    /// Whether this replica currently publishes.
    public var isLeader: Bool { leaderFlag.load(ordering: .relaxed) }

    public func run() async throws {
        let wakeup = Wakeup()
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.source.watchForChanges(logger: self.logger) { wakeup.signal() }
            }
            group.addTask {
                await self.lagLoop()
            }
            // Returns on graceful shutdown, after finishing (and marking) the batch in hand.
            await self.leaderLoop(wakeup: wakeup)
            group.cancelAll()
        }
    }

    private func leaderLoop(wakeup: Wakeup) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let session = try await cancelWhenGracefulShutdown {
                    try await self.source.becomeLeader(logger: self.logger)
                }
                leaderFlag.store(true, ordering: .relaxed)
                metrics.leader.record(1)
                logger.info("bridge is the leader, publishing")
                defer {
                    leaderFlag.store(false, ordering: .relaxed)
                    metrics.leader.record(0)
                }
                do {
                    try await publishWhileLeader(session, wakeup: wakeup)
                    await session.close()
                } catch {
                    await session.close()
                    throw error
                }
                backoff = .milliseconds(100)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("bridge interrupted, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Batch N+1 is published while batch N is being marked and batch N+2 is read ahead; the
    /// three overlap on the database connection and NATS. A crash republishes at most the last
    /// two batches, and the stream's duplicate window drops the copies.
    private func publishWhileLeader(_ session: any ChangeSession, wakeup: Wakeup) async throws {
        var failureBackoff = Duration.milliseconds(100)
        var nextPurge = ContinuousClock.now
        var prefetched: [ChangeRecord]?
        var afterFailure = false
        // The mark of the last published batch, still running.
        var pendingMark: Task<Void, any Error>?
        do {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let retention = configuration.retention, ContinuousClock.now >= nextPurge {
                    var purged = 0
                    while true {
                        let deleted = try await session.purgePublished(olderThan: retention, limit: 1000)
                        purged += deleted
                        if deleted < 1000 { break }
                    }
                    metrics.purged.increment(by: purged)
                    nextPurge = ContinuousClock.now + configuration.retentionInterval
                }
                let readStart = ContinuousClock.now
                let batch: [ChangeRecord]
                if let ready = prefetched, !ready.isEmpty {
                    batch = ready
                } else {
                    // A read that may restart its sweep must see the last batch marked, or it
                    // would read (and publish) it again.
                    try await pendingMark?.value
                    pendingMark = nil
                    batch = try await session.readBatch(
                        limit: configuration.batchSize, mode: afterFailure ? .restart : .next)
                }
                prefetched = nil
                afterFailure = false
                let readTime = ContinuousClock.now - readStart
                if batch.isEmpty {
                    await wakeup.wait(timeout: configuration.pollInterval)
                    continue
                }
                let publishStart = ContinuousClock.now
                // Publish this batch and, while its PubAcks come back, read the next one.
                let published = try await publish(batch, session: session)
                // Marks run one at a time (the checkpoint moves forward in order).
                try await pendingMark?.value
                pendingMark = nil
                if let checkpoint = published.checkpoint {
                    let cursors = published.marked
                    let metrics = self.metrics
                    pendingMark = Task {
                        try await session.markPublished(cursors: cursors, checkpoint: checkpoint)
                        metrics.checkpoint.record(checkpoint)
                    }
                }
                logger.trace(
                    "batch done",
                    metadata: [
                        "bridge.batch": "\(batch.count)", "bridge.read": "\(readTime)",
                        "bridge.publish": "\(ContinuousClock.now - publishStart)",
                    ])
                if !published.complete {
                    afterFailure = true
                    try await Task.sleep(for: failureBackoff)
                    failureBackoff = min(failureBackoff * 2, .seconds(5))
                } else {
                    prefetched = published.next
                    failureBackoff = .milliseconds(100)
                }
            }
        } catch {
            // Still mark what was acknowledged if the session allows it (fewer republished rows).
            _ = try? await pendingMark?.value
            throw error
        }
        // Graceful shutdown: the batch in hand is marked before leadership is released.
        try await pendingMark?.value
    }

    /// What a batch's publish achieved.
    private struct Published {
        /// Every row was acknowledged or set aside (rejected).
        var complete: Bool
        /// The rows to mark: the acknowledged prefix, and the rejected rows once complete.
        var marked: [Int64]
        /// The checkpoint to store with the marks: the highest acknowledged cursor (the highest
        /// rejected one when nothing was acknowledged); nil when there is nothing to mark.
        var checkpoint: Int64?
        /// The rows read ahead while waiting for the PubAcks.
        var next: [ChangeRecord]
    }

    /// The size of a message on the wire as the server counts it against `max_payload`:
    /// the header block (`NATS/1.0\r\n`, `name: value\r\n` each, `\r\n`) and the payload.
    static func messageSize(payload: Int, headers: [(String, String)]) -> Int {
        headers.reduce(12) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 } + payload
    }

    /// The event without its row images, marked `images_omitted` (nil when it does not decode).
    static func withoutImages(_ record: ChangeRecord) -> ChangeRecord? {
        guard var event = try? EntityEvent.decode(record.payload, rows: false) else { return nil }
        event.before = nil
        event.after = nil
        event.changes = nil
        event.imagesOmitted = true
        var stripped = record
        stripped.payload = FastJSON.encode(event)
        return stripped
    }

    /// Publishes a batch and reads ahead while waiting for the PubAcks.
    private func publish(_ batch: [ChangeRecord], session: any ChangeSession) async throws -> Published {
        var messages: [OutgoingMessage] = []
        var cursors: [Int64] = []
        var setAside: [SetAsideChange] = []
        messages.reserveCapacity(batch.count)
        cursors.reserveCapacity(batch.count)
        let limit = configuration.maxMessageBytes ?? jetStream.connection.maxPayload
        for var record in batch {
            let subject: String
            do {
                subject = try configuration.subjectNamer.subject(
                    entityType: record.entityType, operation: record.operation)
            } catch {
                // Never publish a malformed subject: the row is set aside and reported.
                setAside.append(SetAsideChange(record: record, reason: "cannot be published: \(error)"))
                continue
            }
            let headers = EventHeaders.headers(
                eventID: record.eventID, source: record.source, cursor: record.cursor, traceParent: record.traceParent)
            var size = Self.messageSize(payload: record.payload.count, headers: headers)
            if limit > 0, size > limit {
                // Too large for the server: it would fail in every batch, and every later row
                // would wait behind it.
                let original = size
                if configuration.oversized == .omitImages, let stripped = Self.withoutImages(record) {
                    record = stripped
                    size = Self.messageSize(payload: record.payload.count, headers: headers)
                }
                if size > limit {
                    setAside.append(
                        SetAsideChange(
                            record: record,
                            reason: "event of \(original) bytes is larger than the server's max_payload (\(limit))"))
                    continue
                }
                metrics.imagesOmitted.increment()
                logger.warning(
                    "change published without its row images: the event is larger than the server takes",
                    metadata: [
                        "event.id": "\(record.eventID)", "event.entity": "\(record.entityType)",
                        "bridge.cursor": "\(record.cursor)", "bytes": "\(original)", "max_payload": "\(limit)",
                    ])
            }
            messages.append(OutgoingMessage(subject: subject, payload: record.payload, headers: headers))
            cursors.append(record.cursor)
        }
        if !setAside.isEmpty {
            // Recorded before anything is marked; a failure here retries the batch (the
            // source's dead-letter write is idempotent per row).
            try await session.setAside(setAside)
            for change in setAside {
                logger.error(
                    "change set aside: cannot be published",
                    metadata: [
                        "event.id": "\(change.record.eventID)", "event.entity": "\(change.record.entityType)",
                        "bridge.cursor": "\(change.record.cursor)", "error": "\(change.reason)",
                    ])
            }
        }
        let rejected = setAside.map(\.record.cursor)
        let start = ContinuousClock.now
        async let acks = jetStream.publishBatch(messages, timeout: configuration.publishTimeout)
        let next =
            batch.count == configuration.batchSize
            ? try await session.readBatch(limit: configuration.batchSize, mode: .prefetch) : []
        let results = try await acks
        metrics.publishLatency.recordInterval(since: start)
        logger.trace("batch acked", metadata: ["bridge.publish": "\(ContinuousClock.now - start)"])
        // Only the prefix acknowledged in order is marked, so a writer's rows stay in order.
        let acked = results.prefix { if case .success = $0 { true } else { false } }.count
        if acked < results.count, case .failure(let error) = results[acked] {
            metrics.publishFailures.increment(by: results.count - acked)
            logger.warning(
                "publish incomplete, will republish",
                metadata: ["acked": "\(acked)", "batch": "\(results.count)", "error": "\(error)"])
        }
        let complete = acked == results.count
        metrics.published.increment(by: acked)
        if complete { metrics.rejected.increment(by: rejected.count) }
        metrics.batches.increment()
        let marked = Array(cursors.prefix(acked)) + (complete ? rejected : [])
        return Published(
            complete: complete, marked: marked, checkpoint: cursors.prefix(acked).max() ?? marked.max(), next: next)
    }

    /// Lag every 5 seconds; drift at start and every minute (a warning when it changes).
    private func lagLoop() async {
        var round = 0
        var reported: [String] = []
        while !Task.isCancelled {
            if let (rows, age) = try? await source.lag() {
                metrics.lagRows.record(rows)
                metrics.lagSeconds.record(age)
            }
            if round % 12 == 0, let problems = try? await source.drift() {
                metrics.drift.record(problems.count)
                if problems != reported {
                    if problems.isEmpty {
                        logger.notice("captured tables match the configuration again")
                    } else {
                        logger.warning(
                            "captured tables drifted from the configuration: run install after fixing [[bridge.tables]]",
                            metadata: ["problems": "\(problems.joined(separator: "; "))"])
                    }
                    reported = problems
                }
            }
            round += 1
            try? await Task.sleep(for: .seconds(5))
        }
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }
}
