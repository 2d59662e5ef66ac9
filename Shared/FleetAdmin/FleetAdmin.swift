import Config
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Redis

/// The fleet's administration, as values: status of every stage, dead letters of the observer
/// and the job queues (list, show, stats, retry, retry-all, remove), the audit index. The gateway
/// (admin API, gauges, status page) and `fraiseql-observer` are two faces of it.
///
/// Each client is optional: a part whose server is not configured (or not given) is reported
/// as missing in the status, and operations that need it fail with ``AdminError/Code/unavailable``.
public struct FleetAdmin: Sendable {
    public let configuration: FleetConfiguration
    let jetStream: JetStream?
    let redis: RedisClient?
    /// PostgreSQL: a connection is opened for each operation (a status refresh, a retry) and
    /// closed after it, so an outage between two calls costs nothing but that call.
    let postgres: PostgresConnection.Configuration?
    let logger: Logger
    /// The observers compiled once (replay dry runs, debug-event, the circuits' endpoints), or
    /// why they do not compile.
    let rules: Result<RuleEngine, ConfigError>

    public init(
        configuration: FleetConfiguration, jetStream: JetStream?, redis: RedisClient?, logger: Logger
    ) throws(ConfigError) {
        self.configuration = configuration
        self.jetStream = jetStream
        self.redis = redis
        if let url = configuration.postgres.url {
            do {
                postgres = try PostgresURL.configuration(url.value)
            } catch {
                throw ConfigError(key: "postgres.url", message: "\(error)")
            }
        } else {
            postgres = nil
        }
        self.logger = logger
        rules = Result { () throws(ConfigError) in try RuleEngine(configuration) }
    }

    /// The rule engine, or why the observers do not compile.
    func ruleEngine() throws(AdminError) -> RuleEngine {
        do {
            return try rules.get()
        } catch {
            throw AdminError(.invalidArgument, "the observers do not compile: \(error)")
        }
    }

    var usesPostgresTransport: Bool { configuration.observer.transport == "postgres" }

    var keys: RedisKeys { RedisKeys(prefix: configuration.redis.keyPrefix) }

    func needJetStream() throws(AdminError) -> JetStream {
        guard let jetStream else { throw AdminError(.unavailable, "NATS is not connected") }
        return jetStream
    }

    func needRedis() throws(AdminError) -> RedisClient {
        guard let redis else { throw AdminError(.unavailable, "Redis is not connected") }
        return redis
    }

    func jobQueue() throws(AdminError) -> JobQueue {
        JobQueue(redis: try needRedis(), prefix: configuration.redis.keyPrefix)
    }

    /// Runs `body` on a fresh change-log connection.
    func withChangeLog<T: Sendable>(_ body: (ChangeLogStore) async throws -> T) async throws -> T {
        guard let postgres else {
            throw AdminError(.notFound, "[postgres] url is not configured: nothing to read there")
        }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: postgres, id: 1, logger: logger)
        } catch {
            throw AdminError(.unavailable, "cannot connect: \(String(reflecting: error))")
        }
        let store = ChangeLogStore(connection: connection, logger: logger, queryTimeout: .seconds(30))
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    // MARK: Status

    /// Every stage, read now. Never throws: what could not be read is named in `problems`.
    public func status() async -> FleetStatus {
        var status = FleetStatus(
            generatedAt: .now(), transport: configuration.observer.transport,
            observerConsumer: configuration.observer.consumer, parts: [:], problems: [],
            stream: nil, consumers: [], observerDeadLetters: nil, jobQueues: [], circuits: [], bridge: nil)
        async let nats = natsPart()
        async let redisPart = redisPart()
        async let postgresPart = postgresPart()
        if !usesPostgresTransport {
            let (stream, consumers, problem) = await nats
            status.parts["nats"] = problem == nil
            status.stream = stream
            status.consumers = consumers
            if let problem { status.problems.append("NATS: \(problem)") }
        }
        if redis != nil {
            let part = await redisPart
            status.parts["redis"] = part.problem == nil
            if !usesPostgresTransport { status.observerDeadLetters = part.observerDeadLetters }
            status.jobQueues = part.queues
            status.circuits = part.circuits
            if let problem = part.problem { status.problems.append("Redis: \(problem)") }
        }
        if postgres != nil {
            let (bridge, observerDeadLetters, problem) = await postgresPart
            status.parts["postgres"] = problem == nil
            status.bridge = bridge
            if usesPostgresTransport { status.observerDeadLetters = observerDeadLetters }
            if let problem { status.problems.append("PostgreSQL: \(problem)") }
        }
        return status
    }

    private func natsPart() async -> (FleetStatus.Stream?, [FleetStatus.Consumer], String?) {
        guard !usesPostgresTransport else { return (nil, [], nil) }
        guard let jetStream else { return (nil, [], "not connected") }
        let name = configuration.nats.stream.name
        do {
            let info = try await jetStream.streamInfo(name)
            let stream = FleetStatus.Stream(
                name: info.name, messages: info.messages, bytes: info.bytes, firstSequence: info.firstSequence,
                lastSequence: info.lastSequence, maxBytes: info.maxBytes, maxMessages: info.maxMessages,
                maxAgeSeconds: Self.horizon(stream: info.maxAge, configured: configuration.nats.stream.maxAge))
            var consumers: [FleetStatus.Consumer] = []
            for consumer in try await jetStream.consumers(stream: name) {
                var age: Double?
                if consumer.pending > 0 || consumer.ackPending > 0 {
                    age = try? await jetStream.oldestUnacknowledgedAge(stream: name, consumer: consumer.name)
                }
                consumers.append(
                    FleetStatus.Consumer(
                        name: consumer.name, pending: consumer.pending, ackPending: consumer.ackPending,
                        redelivered: consumer.redelivered, ackFloor: consumer.ackFloorStreamSequence,
                        oldestUnackedSeconds: age))
            }
            return (stream, consumers, nil)
        } catch {
            return (nil, [], "\(error)")
        }
    }

    /// The max_age that applies: the stream's, or the configured one when shorter (the next
    /// service start applies the configuration to the stream); 0 when neither limits it.
    static func horizon(stream: Duration, configured: Duration) -> Double {
        let limits = [stream, configured].filter { $0 > .zero }.map { Double($0.components.seconds) }
        return limits.min() ?? 0
    }

    private func redisPart() async -> (
        observerDeadLetters: Int64?, queues: [FleetStatus.JobQueue], circuits: [FleetStatus.Circuit], problem: String?
    ) {
        guard let redis else { return (nil, [], [], nil) }
        do {
            var letters: Int64?
            if !usesPostgresTransport { letters = try await redis.xlen(keys.observerDeadLetters) }
            let jobs = JobQueue(redis: redis, prefix: configuration.redis.keyPrefix)
            var queues: [FleetStatus.JobQueue] = []
            for name in configuration.jobs.queues {
                let depth = try await jobs.depth(name)
                queues.append(
                    FleetStatus.JobQueue(
                        name: name, queued: depth.queued, running: depth.running, delayed: depth.delayed,
                        dead: depth.deadLetters))
            }
            let endpoints = (try? rules.get())?.endpoints ?? []
            var circuits: [FleetStatus.Circuit] = []
            if !endpoints.isEmpty {
                let shared = try await ObserverWorker.openCircuits(
                    redis: redis, prefix: configuration.redis.keyPrefix, endpoints: endpoints)
                for endpoint in endpoints {
                    let open = shared.open[endpoint]
                    circuits.append(
                        FleetStatus.Circuit(
                            endpoint: endpoint, open: open != nil, openedBy: open?.opener,
                            remainingSeconds: open?.remaining.fractionalSeconds))
                }
            }
            return (letters, queues, circuits, nil)
        } catch {
            return (nil, [], [], "\(error)")
        }
    }

    private func postgresPart() async -> (FleetStatus.Bridge?, Int64?, String?) {
        guard postgres != nil else { return (nil, nil, nil) }
        let transport = configuration.bridge.transportName
        let tables = configuration.bridge.tables
        let usesPostgresTransport = usesPostgresTransport
        let logger = logger
        do {
            return try await withChangeLog { store in
                if try await store.missing(["change_log", "change_log_pending"]) {
                    return (nil, nil, "the change log is not installed (run `fraiseql-observer install`)")
                }
                let backlog = try await store.backlog()
                let checkpoint = try await store.checkpoint(transport: transport)
                let leader = try await store.bridgeLeader(transport: transport)
                let letters = try await store.bridgeDeadLetterSummary(latest: 5)
                let drift = try await CapturedTables.check(tables, connection: store.connection, logger: logger)
                let counts = usesPostgresTransport ? try await store.observerCounts() : nil
                let bridge = FleetStatus.Bridge(
                    transportName: transport, unpublishedRows: backlog.rows,
                    oldestUnpublishedSeconds: backlog.oldestAgeSeconds, checkpointCursor: checkpoint?.cursor,
                    checkpointUpdatedAt: checkpoint?.updatedAt, leader: leader, deadLetters: letters?.count,
                    latestDeadLetters: (letters?.latest ?? []).map {
                        FleetStatus.BridgeLetter(
                            transport: $0.transport, changeId: $0.changeID, entityType: $0.entityType,
                            eventBytes: $0.eventBytes, reason: $0.reason)
                    }, capturedTables: tables.count, drift: drift.map { "\($0)" }, retrying: counts?.retrying)
                return (bridge, usesPostgresTransport ? (counts?.deadLetters ?? 0) : nil, nil)
            }
        } catch let error as AdminError {
            return (nil, nil, error.message)
        } catch {
            return (nil, nil, String(reflecting: error))
        }
    }
}
