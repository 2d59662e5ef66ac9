/// observer-worker: a JetStream durable pull consumer shared by every replica → decode → dedup →
/// match observers → run actions → ack, NAK with backoff, or dead-letter and terminate.
import Contracts
import Delivery
import FleetClients
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

public enum ObserverWorker {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        let metrics = ObserverMetrics(factory: MetricsSystem.factory)
        if configuration.observer.transport == "postgres" {
            return try postgresServices(context, metrics: metrics)
        }
        let (redis, redisSet) = try FleetClients.redisServiceSet(context)
        // The fetch loop and its dedup-check connection share one event-loop thread of their own
        // (see NATSObserverConsumer.run). It lives as long as the process: the reader may still
        // close its channel on it at exit.
        let consumerLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let reader = try FleetClients.redis(configuration, logger: context.logger, eventLoopGroup: consumerLoop)
        let errors = metrics.redisErrors
        let marks = RedisMarkStore(
            redis: redis, reader: reader, prefix: configuration.redis.keyPrefix,
            dedupWindow: configuration.observer.dedupWindow, doneTTL: configuration.observer.doneTTL,
            deadLetterMaxLength: configuration.observer.deadLetterMaxLength, logger: context.logger,
            onError: { errors.increment() })
        let pipeline = try makePipeline(
            configuration, marks: marks, redis: redis, metrics: metrics, logger: context.logger)
        let (jetStream, natsSet) = try await FleetClients.natsServiceSet(context)
        let consumer = NATSObserverConsumer(
            jetStream: jetStream, pipeline: pipeline, configuration: configuration, metrics: metrics,
            redis: redis, loop: consumerLoop, logger: context.logger)
        return redisSet.merged(with: natsSet).merged(
            with: ServiceSet(services: [reader, consumer], readiness: [consumer.readiness], links: pipeline.links))
    }

    /// The observer-worker's own PostgreSQL tables for this configuration: the `postgres`
    /// transport's (done marks, retries, dead letters) and the audit index of `search` actions
    /// without Elasticsearch. `fraiseql-observer install` creates them with the change log, so that
    /// the workers' role needs no DDL rights; a worker creates what is missing.
    public static func postgresDDL(_ configuration: FleetConfiguration) -> [String] {
        var statements: [String] = []
        if configuration.observer.transport == "postgres" { statements += PostgresObserverTransport.ddl }
        let searches = configuration.observers.contains { $0.actions.contains { $0.kind == "search" } }
        if searches, configuration.search.elasticsearchURL == nil {
            statements += PostgresSearchIndex.ddl.filter { !$0.hasPrefix("CREATE SCHEMA") }
        }
        return statements
    }

    /// Whether one of `objects` (tables or indexes of the schema `fraiseql_observer`) is missing.
    static func missing(_ objects: [String], on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let names = objects.map { "fraiseql_observer.\($0)" }
        let rows = try await connection.checkedQuery(
            "SELECT bool_or(to_regclass(name) IS NULL) FROM unnest(\(names)::text[]) AS name", logger: logger)
        var missing = true
        for try await value in rows.decode(Bool.self) { missing = value }
        return missing
    }

    /// Runs `ddl` (idempotent statements) when one of `objects` is missing. `CREATE … IF NOT
    /// EXISTS` checks the role's rights before it skips what exists, so a role with data rights
    /// only can run a worker once the objects are there.
    static func ensure(
        _ ddl: [String], objects: [String], on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard try await missing(objects, on: connection, logger: logger) else { return }
        for statement in ddl {
            try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Compiles the observers as the service would (conditions, templates, action keys), without
    /// connecting to anything: `fraiseql-observer validate` runs it.
    public static func validate(_ configuration: FleetConfiguration) throws(ConfigError) {
        _ = try compileForValidation(configuration)
    }

    /// The endpoints of the configured observers' actions, each with its own circuit breaker
    /// (what `fraiseql-observer circuits` shows).
    public static func endpoints(_ configuration: FleetConfiguration) throws(ConfigError) -> [String] {
        CompiledObserver.endpoints(try compileForValidation(configuration))
    }

    private static func compileForValidation(_ configuration: FleetConfiguration) throws(ConfigError)
        -> [CompiledObserver]
    {
        if configuration.observer.transport == "postgres", configuration.postgres.url == nil {
            throw missingPostgresURL
        }
        let resources = ActionResources(
            http: HTTPDelivery(), smtp: FleetClients.smtp(configuration.smtp), smtpFrom: configuration.smtp.from,
            jobQueue: configuration.observer.transport == "postgres"
                ? nil
                : JobQueue(redis: RedisClient(configuration: RedisClientConfiguration(host: "localhost", port: 6379))),
            jobs: configuration.jobs,
            search: configuration.postgres.url != nil || configuration.search.elasticsearchURL != nil
                ? ValidationOnlyIndex() : nil,
            searchIndexName: configuration.search.index)
        return try CompiledObserver.compile(configuration.observers, resources: resources)
    }

    static let missingPostgresURL = ConfigError(
        key: "postgres.url", message: "the 'postgres' observer transport needs [postgres] url")

    /// PostgreSQL only: the change log is the queue, marks and dead letters are tables.
    static func postgresServices(_ context: ServiceContext, metrics: ObserverMetrics) throws -> ServiceSet {
        let configuration = context.configuration
        guard let url = configuration.postgres.url else { throw missingPostgresURL }
        let connection: PostgresConnection.Configuration
        do {
            connection = try PostgresURL.configuration(url.value)
        } catch {
            throw ConfigError(key: "postgres.url", message: "\(error)")
        }
        let marks = PostgresMarkStore(configuration: connection, logger: context.logger)
        var pipeline = try makePipeline(
            configuration, marks: marks, redis: nil, metrics: metrics, logger: context.logger)
        let closeSearch = pipeline.close
        pipeline.close = {
            await closeSearch()
            await marks.close()
        }
        let transport = PostgresObserverTransport(
            pipeline: pipeline, configuration: connection, batchSize: min(configuration.observer.maxInFlight, 1000),
            pollInterval: configuration.bridge.pollInterval,
            retention: .init(
                changeLog: configuration.bridge.retention, doneMarks: configuration.observer.doneTTL,
                deadLetters: configuration.observer.deadLetterMaxLength),
            source: configuration.bridge.transportName, logger: context.logger)
        return ServiceSet(
            services: [transport], readiness: [transport.readiness],
            links: [ServerLink.postgres(url: url.value)] + pipeline.links)
    }

    /// Compiles the observers of the configuration (errors name the key) with the fleet's clients.
    static func makePipeline(
        _ configuration: FleetConfiguration, marks: any MarkStore, redis: RedisClient?, metrics: ObserverMetrics,
        logger: Logger
    ) throws -> ObserverPipeline {
        let search: (any SearchIndex)?
        if let url = configuration.search.elasticsearchURL {
            search = ElasticsearchIndex(url: url, http: HTTPDelivery())
        } else if let url = configuration.postgres.url {
            search = try PostgresSearchIndex(url: url.value, logger: logger)
        } else {
            search = nil
        }
        let resources = ActionResources(
            http: HTTPDelivery(), smtp: FleetClients.smtp(configuration.smtp), smtpFrom: configuration.smtp.from,
            jobQueue: redis.map { redis in
                JobQueue(
                    redis: redis, prefix: configuration.redis.keyPrefix, uniqueTTL: configuration.jobs.uniqueTTL,
                    deadLetterMaxLength: configuration.jobs.deadLetterMaxLength)
            },
            jobs: configuration.jobs, search: search, searchIndexName: configuration.search.index)
        let observers = try CompiledObserver.compile(configuration.observers, resources: resources)
        let breakers = CircuitBreakers(
            policy: .init(
                failureRate: configuration.observer.circuitFailureRate,
                minimumCalls: configuration.observer.circuitMinCalls, window: configuration.observer.circuitWindow),
            reset: configuration.observer.circuitReset
        ) { endpoint, phase in
            metrics.circuit(endpoint).record(phase.gaugeValue)
            logger.notice(
                "circuit \(phase.gaugeValue == 1 ? "opened" : phase.gaugeValue == 2 ? "half-open" : "closed")",
                metadata: ["endpoint": "\(endpoint)"])
        }
        var pipeline = ObserverPipeline(
            observers: observers, marks: marks, breakers: breakers, backoff: configuration.observer.backoff,
            // NATS: waits of up to a third of ack_wait, with an in-progress ack before and after
            // each. Not for the PostgreSQL transport: its marks live in the database it claims
            // from (when they cannot be written, the claim cannot commit either), and a held
            // event would keep its whole batch's transaction open.
            hold: configuration.observer.transport == "postgres"
                ? (total: .zero, step: .zero)
                : (total: .seconds(30), step: configuration.observer.ackWait / 3),
            limits: .init(
                deliveries: configuration.observer.deliveryLimit, eventBytes: configuration.observer.maxEventBytes),
            metrics: metrics, logger: logger)
        pipeline.close = { await search?.close() }
        return pipeline
    }
}

/// Stands in for the audit index while validating (nothing is indexed).
struct ValidationOnlyIndex: SearchIndex {
    let endpoint = "validation"
    let link: ServerLink? = nil
    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {}
    func close() async {}
}

/// The `nats` transport: pulls continuously (up to `max_in_flight` messages requested or buffered
/// ahead), starts as many as there are free slots (`max_in_flight`), processes each in its own
/// task, and acks, NAKs with a delay, or terminates it.
final class NATSObserverConsumer: Service, Sendable {
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

/// A fetched batch on its way to the pool, taken out once (see `NATSObserverConsumer.start`).
private final class EventBatch: Sendable {
    typealias Event = (message: JetStreamMessage, prepared: PreparedMessage, state: MarkState?)
    private let events: Mutex<[Event]>

    init(_ events: [Event]) { self.events = Mutex(events) }

    func take() -> [Event] {
        events.withLock { events in
            var taken: [Event] = []
            swap(&taken, &events)
            return taken
        }
    }
}

/// Writes the marks of finished messages and then acks, NAKs or terminates them, a batch at a
/// time: what finishes while one round trip is under way goes in the next (group commit). Many
/// events then cost one Redis pipeline and one run of acks, instead of a round trip, a task
/// resumption and an ack each. A message's outcome is applied only after its marks were tried,
/// as before; the marks of an event wait for the round trip under way, if any (normally well
/// under a millisecond; with Redis unresponsive, up to its command timeout).
final class Settler: Sendable {
    private struct State {
        var queue: [(message: JetStreamMessage, settlement: Settlement)] = []
        var running = false
    }
    private let state = Mutex(State())
    private let marks: any MarkStore
    private let logger: Logger
    /// Called with the number of messages settled (their work slots are free again).
    private let settled: @Sendable (Int) -> Void

    init(marks: any MarkStore, logger: Logger, settled: @escaping @Sendable (Int) -> Void) {
        self.marks = marks
        self.logger = logger
        self.settled = settled
    }

    /// Nothing queued and no batch under way.
    var isIdle: Bool { state.withLock { !$0.running && $0.queue.isEmpty } }

    func submit(_ message: JetStreamMessage, _ settlement: Settlement) {
        let start = state.withLock { state in
            state.queue.append((message, settlement))
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { Task(executorPreference: globalConcurrentExecutor) { await self.run() } }
    }

    private func run() async {
        while true {
            let batch = state.withLock { state in
                var batch: [(message: JetStreamMessage, settlement: Settlement)] = []
                swap(&batch, &state.queue)
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let writes = batch.compactMap(\.settlement.marks)
            if !writes.isEmpty { await marks.mark(writes) }
            for (message, settlement) in batch {
                do {
                    switch settlement.outcome {
                    case .ack: try message.ack()
                    case .nak(let delay): try message.nak(delay: delay)
                    case .term: try message.term()
                    }
                } catch {
                    // The server redelivers after ack_wait; done marks keep the actions from repeating.
                    logger.warning("could not settle a message", metadata: ["error": "\(error)"])
                }
            }
            settled(batch.count)
        }
    }
}
