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
