import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import NATS
import NIOPosix
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// The `nats` transport: pulls continuously (up to `max_in_flight` messages requested or buffered
/// ahead), starts as many as there are free slots (`max_in_flight`), processes each in its own
/// task, and acks, NAKs with a delay, or terminates it.
final class NATSObserverConsumer: ObserverTransport {
    let jetStream: JetStream
    let pipeline: ObserverPipeline
    let configuration: FleetConfiguration
    let metrics: ObserverMetrics
    let redis: RedisClient
    let logger: Logger
    /// The thread of the fetch loop and of the dedup checks' connection.
    let loop: MultiThreadedEventLoopGroup
    private let slots: WorkSlots
    private let settler: Settler
    private let circuits: CircuitSharing
    private let stopping = Atomic(false)
    private let subscribed = Atomic(false)
    /// Slots taken by the fetch loop for messages it is waiting for: not events in flight.
    private let awaited = Atomic(0)

    /// Events being worked on or settled (the `fraiseql_observer_in_flight` gauge).
    var eventsInFlight: Int { max(0, slots.inUse - awaited.load(ordering: .acquiring)) }
    /// The pull under way, closed by the shutdown handler so that a wait for messages ends at once.
    private let pull = Mutex<ContinuousPull?>(nil)

    init(
        jetStream: JetStream, pipeline: ObserverPipeline, configuration: FleetConfiguration, metrics: ObserverMetrics,
        redis: RedisClient, loop: MultiThreadedEventLoopGroup, logger: Logger
    ) {
        self.loop = loop
        self.jetStream = jetStream
        self.pipeline = pipeline
        self.configuration = configuration
        self.metrics = metrics
        self.redis = redis
        self.logger = logger
        let slots = WorkSlots(configuration.observer.maxInFlight)
        self.slots = slots
        settler = Settler(marks: pipeline.marks, logger: logger) { slots.release($0) }
        let endpoints = CompiledObserver.endpoints(pipeline.observers)
        let errors = metrics.redisErrors
        let circuits = CircuitSharing(
            breakers: pipeline.breakers, redis: redis, prefix: configuration.redis.keyPrefix,
            endpoints: endpoints,
            worker:
                "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(String(UInt32.random(in: .min ... .max), radix: 16))",
            logger: logger,
            onError: { errors.increment() })
        self.circuits = circuits
        pipeline.breakers.whenOpened { endpoint in Task { await circuits.opened(endpoint) } }
        pipeline.breakers.whenTrialSucceeded { endpoint in Task { await circuits.trialSucceeded(endpoint) } }
    }

    var readiness: ReadinessCheck {
        ReadinessCheck("consumer") { self.subscribed.load(ordering: .acquiring) }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) || Task.isCancelled }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.sampleGauges() }
                group.addTask { await self.shareCircuits() }
                group.addTask { await self.keepBufferAlive() }
                // The fetch loop runs on its own event loop, which is also the one of the dedup
                // checks' Redis connection: the check's reply resumes the loop on that thread at
                // once, instead of queueing behind the event tasks on the cooperative pool.
                await withTaskExecutorPreference(EventLoopTaskExecutor(self.loop.next())) {
                    await self.consume()
                }
                group.cancelAll()  // ends the periodic tasks' sleeps
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.slots.wake()
            // Ends a wait for messages at once; the buffered ones are handed back by the loop.
            self.pull.withLock { $0 }?.stop()
        }
    }

    private func subscribe() async throws -> ContinuousPull {
        let observer = configuration.observer
        let stream = configuration.nats.stream.name
        try await jetStream.ensureConsumer(
            stream: stream,
            ConsumerConfiguration(
                durableName: observer.consumer, filterSubject: "\(configuration.nats.subjectPrefix).>",
                ackWait: observer.ackWait,
                // The worker counts attempts and dead-letters at each observer's max_attempts, and
                // settles a message delivered `delivery_limit` times before decoding it; the
                // server's own limit is a backstop past that, for a message whose dead-lettering
                // itself keeps failing.
                // Each worker holds up to 2× max_in_flight unacked (its work and its pull window):
                // 8× lets four workers share the consumer at full speed.
                maxDeliver: observer.deliveryLimit + 10, maxAckPending: max(1000, observer.maxInFlight * 8)))
        // As many messages requested or waiting here as there are work slots: the next batch is
        // usually in when slots free up, instead of one fetch round trip per batch.
        // The worker reads no headers (the event carries its id, source and cursor).
        return try jetStream.continuousPull(
            stream: stream, consumer: observer.consumer, window: observer.maxInFlight, headers: false)
    }

    private func consume() async {
        // Event tasks are grandchildren of this group (a task per fetched batch, a child per
        // event): no registry (and no lock) to start or end one; cancelling the service cancels
        // them with it.
        await withDiscardingTaskGroup { group in await consume(&group) }
        // The settler writes the last marks and acks (or NAKs) the last messages: as long as a
        // Redis connect and two command timeouts (the batch under way and one queued behind it).
        let redis = configuration.redis
        let settling = ContinuousClock.now + redis.connectTimeout + redis.commandTimeout * 2 + .seconds(1)
        while !settler.isIdle, ContinuousClock.now < settling, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        // The acks and NAKs of the drained events sit in the client's write buffer: a flush (a
        // PING answered by the server) makes sure the server has them before the connection
        // closes, so a NAKed event goes to the next worker at once instead of after ack_wait.
        do {
            try await jetStream.connection.flush(timeout: .seconds(2))
        } catch {
            logger.warning(
                "could not flush the last acks and NAKs; the server redelivers them after ack_wait",
                metadata: ["error": "\(error)"])
        }
        await pipeline.close()
    }

    private func consume(_ group: inout DiscardingTaskGroup) async {
        var subscription: ContinuousPull?
        var failures = 0
        while !isStopping {
            do {
                if subscription == nil {
                    subscription = try await subscribe()
                    pull.withLock { $0 = subscription }
                    subscribed.store(true, ordering: .releasing)
                    logger.info(
                        "consuming",
                        metadata: [
                            "nats.consumer": "\(configuration.observer.consumer)",
                            "observers": "\(pipeline.observers.count)",
                        ])
                }
                let free = await slots.acquireAvailable()
                if free == 0 || isStopping {
                    slots.release(free)
                    break
                }
                let messages: [JetStreamMessage]
                awaited.store(free, ordering: .releasing)
                do {
                    messages = try await subscription!.next(max: free, timeout: .seconds(1))
                } catch {
                    awaited.store(0, ordering: .releasing)
                    slots.release(free)
                    throw error
                }
                slots.release(free - messages.count)
                awaited.store(0, ordering: .releasing)
                failures = 0
                if messages.isEmpty { pipeline.caughtUp() }
                await start(messages, in: &group)
            } catch {
                failures += 1
                if failures > 3 || (error as? NATSError)?.code == .notFound {
                    subscription?.close()
                    subscription = nil
                    subscribed.store(false, ordering: .releasing)
                }
                let delay = Duration.milliseconds(min(5000, 100 << min(failures, 6)))
                logger.warning("pull failed, retrying", metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
        // No more requests; what was delivered but not started goes back to the server (NAK),
        // for another worker at once.
        if let subscription { await handBack(subscription) }
        await drain(&group)
    }

    /// Prepares the batch, checks its marks in one round trip, then finishes each message in a task.
    private func start(_ messages: [JetStreamMessage], in group: inout DiscardingTaskGroup) async {
        guard !messages.isEmpty else { return }
        metrics.inFlight.record(eventsInFlight)
        let prepared = messages.map { message in
            var prepared = pipeline.prepare(
                message.payload, origin: message.subject, deliveries: Int(message.metadata?.deliveryCount ?? 1))
            prepared.keepAlive = { try? message.inProgress() }
            return prepared
        }
        let states = await pipeline.check(prepared)
        // Events run on the cooperative pool, not on the fetch loop's thread. The batch goes over
        // in one task, which starts a task per event from the pool: a task started from the
        // fetch loop's thread wakes a pool thread, which took the CPU from the loop at once for
        // each event (two context switches per event). The batch task takes the events out of
        // their box before its children run, so that each event is held by its own task only:
        // one slow event does not keep its finished siblings in memory.
        let batch = EventBatch(zip(messages, zip(prepared, states)).map { ($0, $1.0, $1.1) })
        group.addTask(executorPreference: globalConcurrentExecutor) {
            await withDiscardingTaskGroup { events in
                for (message, prepared, state) in batch.take() {
                    events.addTask {
                        let settlement = await self.pipeline.finish(prepared, state: state)
                        self.settler.submit(message, settlement)
                    }
                }
            }
        }
    }

    /// Shutdown: the messages delivered here but not started go back to the server (NAK), after
    /// their release is recorded, so that the redelivery this causes does not count as an attempt
    /// toward `max_attempts` (if Redis does not take it, it counts, as a delivery always did).
    private func handBack(_ subscription: ContinuousPull) async {
        subscription.stop()
        let waiting = subscription.takeBuffered()
        let releases = waiting.compactMap { message -> MarkWrite? in
            guard let event = try? EntityEvent.decode(message.payload, rows: false) else { return nil }
            return MarkWrite(event, done: [], processed: false, released: true)
        }
        if !releases.isEmpty, !Task.isCancelled { await pipeline.marks.mark(releases) }
        for message in waiting { try? message.nak() }
        subscription.close()
    }

    /// Shutdown: in-flight events get `shutdown_grace` to finish and be settled (their slots are
    /// free again), then they are cancelled (and NAKed); leaving the group waits for them.
    /// (Cancelled, the service group's own shutdown limit is up: the loops stop waiting and the
    /// server redelivers what is left after ack_wait, as after a crash.)
    private func drain(_ group: inout DiscardingTaskGroup) async {
        let deadline = ContinuousClock.now + configuration.observer.shutdownGrace
        while ContinuousClock.now < deadline, slots.inUse > 0, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if slots.inUse > 0 {
            logger.notice("cancelling in-flight events", metadata: ["events": "\(slots.inUse)"])
            group.cancelAll()
        }
    }

    /// Messages waiting in the pull window for a free slot (slots held by slow calls, or by
    /// events held while Redis is down) get an in-progress ack every third of `ack_wait`, so the
    /// server does not hand them to another worker meanwhile.
    private func keepBufferAlive() async {
        let age = configuration.observer.ackWait / 3
        while !isStopping {
            pull.withLock { $0 }?.keepBufferedAlive(olderThan: age)
            try? await Task.sleep(for: min(.seconds(1), age / 2))
        }
    }

    /// Applies the circuits other workers opened, once a second (see `CircuitSharing`).
    private func shareCircuits() async {
        while !isStopping {
            await circuits.poll()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func sampleGauges() async {
        let stream = RedisKeys(prefix: configuration.redis.keyPrefix).observerDeadLetters
        var warned = false
        while !isStopping {
            metrics.inFlight.record(eventsInFlight)
            if let size = try? await redis.xlen(stream) { metrics.deadLetterSize.record(size) }
            if let age = try? await jetStream.oldestUnacknowledgedAge(
                stream: configuration.nats.stream.name, consumer: configuration.observer.consumer) ?? 0
            {
                // JetStream deletes events at max_age whether processed or not.
                metrics.oldestUnprocessed.record(age)
                let horizon = Double(configuration.nats.stream.maxAge.components.seconds)
                if age > horizon / 2, !warned {
                    logger.warning(
                        "the oldest unprocessed event is past half the stream's max_age: events older than max_age are deleted unprocessed",
                        metadata: ["age.seconds": "\(Int(age))", "max_age.seconds": "\(Int(horizon))"])
                }
                warned = age > horizon / 2
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }
}
