/// FleetClients: builds the fleet's NATS and Redis clients from the configuration, with the
/// readiness checks and start-up provisioning every service shares.
import Contracts
import Delivery
import Logging
import NATS
import NIOCore
import NIOPosix
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

public enum FleetClients {
    /// Connects to NATS. The first connect is retried in the background, so a service starts
    /// (and reports not ready) while NATS is down, and recovers by itself.
    public static func nats(_ configuration: FleetConfiguration, name: String, logger: Logger) async throws
        -> NATSConnection
    {
        try await NATSConnection.connect(
            NATSClientConfiguration(
                url: configuration.nats.url, name: name, connectTimeout: configuration.nats.connectTimeout,
                reconnectWait: configuration.nats.reconnectWait, retryOnFailedConnect: true,
                requestTimeout: configuration.nats.requestTimeout,
                tls: configuration.nats.tls.map {
                    NATSTLSConfiguration(caFile: $0.caFile, certificateFile: $0.certificateFile, keyFile: $0.keyFile)
                }),
            logger: logger)
    }

    /// The stream of entity changes as configured in `[nats.stream]`.
    public static func stream(_ configuration: FleetConfiguration) -> StreamConfiguration {
        let settings = configuration.nats.stream
        return StreamConfiguration(
            name: settings.name, subjects: ["\(configuration.nats.subjectPrefix).>"],
            storage: settings.storage == "memory" ? .memory : .file, maxAge: settings.maxAge,
            duplicateWindow: settings.duplicateWindow, replicas: settings.replicas, maxBytes: Int64(settings.maxBytes),
            maxMessages: Int64(settings.maxMessages))
    }

    /// - Parameter eventLoopGroup: the loops its connection runs on (default: NIO's singleton).
    public static func redis(
        _ configuration: FleetConfiguration, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws -> RedisClient {
        var settings = try RedisClientConfiguration(url: configuration.redis.url.value)
        settings.connectTimeout = configuration.redis.connectTimeout
        settings.commandTimeout = configuration.redis.commandTimeout
        if let tls = configuration.redis.tls {
            settings.tls = RedisTLSConfiguration(
                caFile: tls.caFile, certificateFile: tls.certificateFile, keyFile: tls.keyFile)
        }
        return RedisClient(configuration: settings, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    public static func readiness(_ connection: NATSConnection) -> ReadinessCheck {
        ReadinessCheck("nats") { connection.isConnected }
    }

    public static func readiness(_ client: RedisClient) -> ReadinessCheck {
        ReadinessCheck("redis") {
            do {
                return try await client.send(RedisCommand("PING"), timeout: .milliseconds(500)) == .simpleString("PONG")
            } catch {
                return false
            }
        }
    }
}

/// Creates or updates the JetStream stream at start-up, retrying with backoff until NATS
/// answers; ready once the stream exists. Then waits for shutdown.
public final class StreamProvisioner: Service, Sendable {
    private let jetStream: JetStream
    private let configuration: StreamConfiguration
    private let logger: Logger
    private let done = AsyncFlag()

    public init(jetStream: JetStream, configuration: StreamConfiguration, logger: Logger) {
        self.jetStream = jetStream
        self.configuration = configuration
        self.logger = logger
    }

    public var readiness: ReadinessCheck {
        ReadinessCheck("stream") { [done] in done.isSet }
    }

    public func run() async throws {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let info = try await jetStream.ensureStream(configuration)
                logger.info(
                    "stream ready",
                    metadata: ["nats.stream": "\(info.name)", "nats.stream.messages": "\(info.messages)"])
                done.set()
                break
            } catch {
                logger.warning("stream not provisioned yet, retrying", metadata: ["error": "\(error)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(5))
            }
        }
        try? await gracefulShutdown()
    }
}

/// A flag set once, readable from any task.
final class AsyncFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

extension FleetClients {
    /// The NATS part every NATS-using service starts with: the connection, a JetStream context,
    /// the stream provisioner, and their readiness checks.
    public static func natsServiceSet(_ context: ServiceContext) async throws -> (JetStream, ServiceSet) {
        let connection = try await nats(context.configuration, name: context.name, logger: context.logger)
        let jetStream = try connection.jetStream()
        let provisioner = StreamProvisioner(
            jetStream: jetStream, configuration: stream(context.configuration), logger: context.logger)
        return (
            jetStream,
            ServiceSet(
                services: [provisioner], readiness: [readiness(connection), provisioner.readiness],
                liveness: [ReadinessCheck("nats") { !connection.isClosed }],
                links: ServerLink.nats(context.configuration.nats))
        )
    }

    /// The Redis part: the client (a service, closed on shutdown) and its readiness check.
    public static func redisServiceSet(_ context: ServiceContext) throws -> (RedisClient, ServiceSet) {
        let client = try redis(context.configuration, logger: context.logger)
        return (
            client,
            ServiceSet(
                services: [client], readiness: [readiness(client)],
                links: [ServerLink.redis(context.configuration.redis)])
        )
    }
}

extension ServiceSet {
    /// Services and checks of both, `self` first.
    public func merged(with other: ServiceSet) -> ServiceSet {
        ServiceSet(
            services: services + other.services, readiness: readiness + other.readiness,
            liveness: liveness + other.liveness, links: links + other.links)
    }
}

extension FleetClients {
    /// The SMTP client for `[smtp]`, or nil when no host is configured.
    public static func smtp(_ configuration: SMTPConfiguration) -> SMTPClient? {
        guard let host = configuration.host else { return nil }
        return SMTPClient(
            settings: SMTPSettings(
                host: host, port: configuration.port,
                security: SMTPSettings.Security(rawValue: configuration.security) ?? .startTLS,
                username: configuration.username, password: configuration.password?.value,
                heloName: configuration.heloName, timeout: configuration.timeout, caFile: configuration.caFile))
    }
}
