/// BridgeEngine: the loop every bridge shares (pg-bridge, mysql-bridge, mssql-bridge).
///
/// A database adapter implements ``ChangeSource``: it waits for leadership (one publisher per
/// transport name), reads unpublished changes in batches, marks them published, keeps the
/// checkpoint and signals new changes. The engine owns the rest: pipelined publishes with
/// `Nats-Msg-Id` = the event id, waiting for every PubAck, marking only what was acked
/// (``BatchProgress``), setting aside what cannot be published, retries with backoff, retention,
/// metrics. A crash anywhere republishes at most the last two batches, and the stream's duplicate
/// window drops the copies.
import Contracts
import Logging
import Metrics
import NATS
import Runtime
import ServiceLifecycle
import Synchronization

/// The bridge: a `Service` that publishes while it is the leader and stands by otherwise.
public final class BridgeService<Source: ChangeSource>: Service, Sendable {
    public typealias Record = ChangeRecord<Source.Position>

    private let source: Source
    private let publisher: any EventPublisher
    private let configuration: BridgeSettings
    private let logger: Logger
    private let metrics: BridgeMetrics
    private let leaderFlag = Atomic(false)
    /// Why the source must be resynchronised, while it must.
    private let resync = Mutex<String?>(nil)

    public init(
        source: Source, publisher: any EventPublisher, configuration: BridgeSettings, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.source = source
        self.publisher = publisher
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "bridge.transport"] = "\(configuration.transportName)"
        self.logger = logger
        self.metrics = BridgeMetrics(transport: configuration.transportName, factory: metricsFactory)
    }

    /// Whether this replica currently publishes.
    public var isLeader: Bool { leaderFlag.load(ordering: .relaxed) }

    /// Why the source must be resynchronised (``BridgeError/Code/resyncRequired``); nil when it need not.
    public var resyncRequired: String? { resync.withLock { $0 } }

    /// `/health/ready` is false while the source must be resynchronised.
    public var readiness: ReadinessCheck {
        ReadinessCheck("bridge") { self.resyncRequired == nil }
    }

    public func run() async throws {
        // Present from the start, so that an alert on it has a series to watch.
        metrics.resyncRequired.record(0)
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
                let session = try await cancelWhenGracefulShutdown { try await self.acquireLeadership() }
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
            } catch let error as BridgeError where error.code == .resyncRequired {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                metrics.error(error)
                reportResync(error)
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: self.configuration.resyncCheckInterval)
                }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                metrics.error(error)
                logger.warning("bridge interrupted, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Waits for leadership. A replica still waiting after 5 seconds is a standby (another one
    /// leads): what it reported as the leader (a required resync) is the leader's to report now.
    private func acquireLeadership() async throws -> Source.Session {
        try await withThrowingTaskGroup(of: Source.Session?.self) { group in
            group.addTask { try await self.source.becomeLeader(logger: self.logger) }
            group.addTask {
                try await Task.sleep(for: .seconds(5))
                self.clearResync(standby: true)
                return nil
            }
            while let result = try await group.next() {
                if let session = result {
                    group.cancelAll()
                    return session
                }
            }
            throw CancellationError()
        }
    }

    /// Never a silent skip: publishing stops until the source holds the changes again, and the
    /// metric, `/health/ready` and the log say so.
    private func reportResync(_ error: BridgeError) {
        let first = resync.withLock { reason in
            defer { reason = error.message }
            return reason != error.message
        }
        metrics.resyncRequired.record(1)
        if first {
            logger.error(
                "the source no longer holds the changes after the checkpoint: publishing stopped until it is resynchronised (docs/operations.md)",
                metadata: ["error": "\(error.message)"])
        }
    }

    private func clearResync(standby: Bool = false) {
        let was = resync.withLock { reason in
            defer { reason = nil }
            return reason
        }
        if was != nil {
            metrics.resyncRequired.record(0)
            logger.notice(
                standby
                    ? "standing by: a required resync is for the leader to report"
                    : "the source holds the changes after the checkpoint again, publishing")
        }
    }

    /// Batch N+1 is published while batch N is being marked and batch N+2 is read ahead; the
    /// three overlap on the source's connection and NATS. A crash republishes at most the last
    /// two batches, and the stream's duplicate window drops the copies.
    private func publishWhileLeader(_ session: Source.Session, wakeup: Wakeup) async throws {
        var failureBackoff = Duration.milliseconds(100)
        var nextPurge = ContinuousClock.now
        var prefetched: [Record]?
        var afterFailure = false
        // The mark of the last published batch, still running.
        var pendingMark: Task<Void, any Error>?
        do {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if session.retention == .bridge, let retention = configuration.retention,
                    ContinuousClock.now >= nextPurge
                {
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
                let batch: [Record]
                if let ready = prefetched, !ready.isEmpty {
                    batch = ready
                } else {
                    // A read that may restart its sweep must see the last batch marked, or it
                    // would read (and publish) it again.
                    try await pendingMark?.value
                    pendingMark = nil
                    batch = try await session.readBatch(
                        limit: configuration.batchSize, mode: afterFailure ? .restart : .next)
                    clearResync()
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
                let (progress, next) = try await publish(batch, session: session)
                // Marks run one at a time (the checkpoint moves forward in order).
                try await pendingMark?.value
                pendingMark = nil
                if !progress.marked.isEmpty {
                    let metrics = self.metrics
                    pendingMark = Task {
                        try await session.markPublished(progress.marked, checkpoint: progress.checkpoint)
                        if let cursor = progress.checkpoint as? Int64 { metrics.checkpoint.record(cursor) }
                    }
                }
                logger.trace(
                    "batch done",
                    metadata: [
                        "bridge.batch": "\(batch.count)", "bridge.read": "\(readTime)",
                        "bridge.publish": "\(ContinuousClock.now - publishStart)",
                    ])
                if !progress.complete {
                    afterFailure = true
                    try await Task.sleep(for: failureBackoff)
                    failureBackoff = min(failureBackoff * 2, .seconds(5))
                } else {
                    prefetched = next
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

    /// The size of a message on the wire as the server counts it against `max_payload`:
    /// the header block (`NATS/1.0\r\n`, `name: value\r\n` each, `\r\n`) and the payload.
    static func messageSize(payload: Int, headers: [(String, String)]) -> Int {
        headers.reduce(12) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 } + payload
    }

    /// The event without its row images, marked `images_omitted` (nil when it does not decode).
    static func withoutImages(_ record: Record) -> Record? {
        guard var event = try? EntityEvent.decode(record.payload, rows: false) else { return nil }
        event.before = nil
        event.after = nil
        event.changes = nil
        event.imagesOmitted = true
        var stripped = record
        stripped.payload = FastJSON.encode(event)
        return stripped
    }

    /// Publishes a batch (setting aside what cannot be published) and reads ahead while waiting
    /// for the PubAcks.
    private func publish(_ batch: [Record], session: Source.Session) async throws
        -> (BatchProgress<Source.Position>, next: [Record])
    {
        var messages: [OutgoingMessage] = []
        var outcomes = [BatchProgress<Source.Position>.Outcome](repeating: .setAside, count: batch.count)
        // For each message, the index of its change in the batch.
        var sent: [Int] = []
        var setAside: [SetAsideChange<Source.Position>] = []
        messages.reserveCapacity(batch.count)
        sent.reserveCapacity(batch.count)
        let limit = configuration.maxMessageBytes ?? publisher.maxPayload
        for (index, original) in batch.enumerated() {
            var record = original
            let subject: String
            do {
                subject = try configuration.subjectNamer.subject(
                    entityType: record.entityType, operation: record.operation)
            } catch {
                // Never publish a malformed subject: the change is set aside and reported.
                setAside.append(SetAsideChange(record: record, reason: "cannot be published: \(error)"))
                continue
            }
            let headers = EventHeaders.headers(
                eventID: record.eventID, source: record.source, cursor: record.cursor, traceParent: record.traceParent)
            var size = Self.messageSize(payload: record.payload.count, headers: headers)
            if limit > 0, size > limit {
                // Too large for the server: it would fail in every batch, and every later change
                // would wait behind it.
                let originalSize = size
                if configuration.oversized == .omitImages, let stripped = Self.withoutImages(record) {
                    record = stripped
                    size = Self.messageSize(payload: record.payload.count, headers: headers)
                }
                if size > limit {
                    setAside.append(
                        SetAsideChange(
                            record: record,
                            reason:
                                "event of \(originalSize) bytes is larger than the server's max_payload (\(limit))"))
                    continue
                }
                metrics.imagesOmitted.increment()
                logger.warning(
                    "change published without its row images: the event is larger than the server takes",
                    metadata: [
                        "event.id": "\(record.eventID)", "event.entity": "\(record.entityType)",
                        "bridge.cursor": "\(record.cursor)", "bytes": "\(originalSize)", "max_payload": "\(limit)",
                    ])
            }
            messages.append(OutgoingMessage(subject: subject, payload: record.payload, headers: headers))
            sent.append(index)
        }
        if !setAside.isEmpty {
            // Recorded before anything is marked; a failure here retries the batch (the
            // source's dead-letter write is idempotent per change).
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
        let start = ContinuousClock.now
        let outgoing = messages
        async let acks = publisher.publish(outgoing, timeout: configuration.publishTimeout)
        let next =
            batch.count == configuration.batchSize
            ? try await session.readBatch(limit: configuration.batchSize, mode: .prefetch) : []
        let results = try await acks
        metrics.publishLatency.record(ContinuousClock.now - start)
        logger.trace("batch acked", metadata: ["bridge.publish": "\(ContinuousClock.now - start)"])
        var firstFailure: (any Error)?
        for (position, index) in sent.enumerated() {
            guard position < results.count else {
                outcomes[index] = .failed
                continue
            }
            switch results[position] {
            case .success: outcomes[index] = .published
            case .failure(let error):
                outcomes[index] = .failed
                if firstFailure == nil { firstFailure = error }
            }
        }
        let progress = BatchProgress(records: batch, outcomes: outcomes)
        if !progress.complete {
            metrics.publishFailures.increment(by: messages.count - progress.published)
            logger.warning(
                "publish incomplete, will republish",
                metadata: [
                    "acked": "\(progress.published)", "batch": "\(messages.count)",
                    "error": "\(firstFailure.map { "\($0)" } ?? "no acknowledgement")",
                ])
        }
        metrics.published.increment(by: progress.published)
        metrics.rejected.increment(by: progress.setAside)
        metrics.batches.increment()
        return (progress, next)
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
