/// observer-worker: a JetStream durable pull consumer shared by every replica → decode → dedup →
/// match observers → run actions → ack, NAK with backoff, or dead-letter and terminate.
import Config
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

public enum ObserverWorker {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        let metrics = ObserverMetrics(factory: MetricsSystem.factory)
        if configuration.observer.transport == "postgres" {
            return try postgresServices(context, metrics: metrics)
        }
        let postgres = try postgresClient(context)
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
            configuration, marks: marks, redis: redis, postgres: postgres, metrics: metrics, logger: context.logger)
        let (jetStream, natsSet) = try await FleetClients.natsServiceSet(context)
        let consumer = NATSObserverConsumer(
            jetStream: jetStream, pipeline: pipeline, configuration: configuration, metrics: metrics,
            redis: redis, loop: consumerLoop, logger: context.logger)
        return redisSet.merged(with: natsSet).merged(
            with: consumer.serviceSet(with: [reader] + (postgres.map { [$0] } ?? [])))
    }

    /// The observer-worker's own PostgreSQL tables for this configuration: the `postgres`
    /// transport's (done marks, retries, dead letters) and the audit index of `search` actions
    /// without Elasticsearch. `fraiseql-observer install` creates them with the change log, so that
    /// the workers' role needs no DDL rights; a worker creates what is missing.
    public static func postgresDDL(_ configuration: FleetConfiguration) -> [String] {
        var statements: [String] = []
        if configuration.observer.transport == "postgres" { statements += ChangeLogSchema.observerTables.statements }
        let searches = configuration.observers.contains { $0.actions.contains { $0.kind == "search" } }
        if searches, configuration.search.elasticsearchURL == nil {
            statements += ChangeLogSchema.auditIndex.statements.filter { !$0.hasPrefix("CREATE SCHEMA") }
        }
        return statements
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

    static func compileForValidation(_ configuration: FleetConfiguration) throws(ConfigError)
        -> [CompiledObserver]
    {
        if configuration.observer.transport == "postgres", configuration.postgres.url == nil {
            throw missingPostgresURL
        }
        let resources = ActionResources(
            http: HTTPDelivery(), smtp: FleetClients.smtp(configuration.smtp), smtpFrom: configuration.smtp.from,
            jobQueue: configuration.observer.transport == "postgres" && !configuration.redis.isConfigured
                ? nil
                : JobQueue(redis: RedisClient(configuration: RedisClientConfiguration(host: "localhost", port: 6379))),
            jobs: configuration.jobs,
            search: configuration.postgres.url != nil || configuration.search.elasticsearchURL != nil
                ? ValidationOnlyIndex(configuration) : nil,
            searchIndexName: configuration.search.index)
        return try CompiledObserver.compile(configuration.observers, resources: resources)
    }

    static let missingPostgresURL = ConfigError(
        key: "postgres.url", message: "the 'postgres' observer transport needs [postgres] url")

    /// PostgreSQL only: the change log is the queue, marks and dead letters are tables. With
    /// `job` actions and `[redis] url` set (PostgreSQL + Redis), the jobs go into Redis for
    /// job-worker; without `job` actions Redis is not used even when named.
    static func postgresServices(_ context: ServiceContext, metrics: ObserverMetrics) throws -> ServiceSet {
        let configuration = context.configuration
        guard let url = configuration.postgres.url else { throw missingPostgresURL }
        let connection: PostgresConnection.Configuration
        do {
            connection = try PostgresURL.configuration(url.value)
        } catch {
            throw ConfigError(key: "postgres.url", message: "\(error)")
        }
        guard let client = try postgresClient(context) else { throw missingPostgresURL }
        let marks = PostgresMarkStore(client: client, logger: context.logger)
        let jobs = configuration.observers.contains { $0.actions.contains { $0.kind == "job" } }
        let (redis, redisSet) =
            configuration.redis.isConfigured && jobs
            ? try FleetClients.redisServiceSet(context) : (nil, ServiceSet(services: []))
        let pipeline = try makePipeline(
            configuration, marks: marks, redis: redis, postgres: client, metrics: metrics, logger: context.logger)
        let transport = PostgresObserverTransport(
            pipeline: pipeline, configuration: connection, batchSize: min(configuration.observer.maxInFlight, 1000),
            pollInterval: configuration.bridge.pollInterval,
            retention: .init(
                changeLog: configuration.bridge.retention, doneMarks: configuration.observer.doneTTL,
                deadLetters: configuration.observer.deadLetterMaxLength),
            source: configuration.bridge.transportName, logger: context.logger)
        return redisSet.merged(
            with: transport.serviceSet(with: [client], links: [ServerLink.postgres(url: url.value)]))
    }

    /// The worker's PostgreSQL pool (`postgres.pool_size` connections, opened on demand) when
    /// `postgres.url` is set: the `postgres` transport's done marks and dead letters, and the
    /// search action's audit index.
    static func postgresClient(_ context: ServiceContext) throws -> PostgresClient? {
        guard let url = context.configuration.postgres.url else { return nil }
        do {
            return PostgresClient(
                configuration: try PostgresURL.clientConfiguration(
                    url.value, poolSize: context.configuration.postgres.poolSize),
                backgroundLogger: context.logger)
        } catch {
            throw ConfigError(key: "postgres.url", message: "\(error)")
        }
    }

    /// Compiles the observers of the configuration (errors name the key) with the fleet's clients.
    static func makePipeline(
        _ configuration: FleetConfiguration, marks: any MarkStore, redis: RedisClient?, postgres: PostgresClient?,
        metrics: ObserverMetrics, logger: Logger
    ) throws -> ObserverPipeline {
        let search: (any SearchIndex)?
        if let url = configuration.search.elasticsearchURL {
            search = ElasticsearchIndex(url: url, http: HTTPDelivery())
        } else if let url = configuration.postgres.url, let postgres {
            search = try PostgresSearchIndex(client: postgres, url: url.value, logger: logger)
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
