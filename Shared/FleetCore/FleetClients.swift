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
        try await NATSConnection.connect(configuration.nats.clientConfiguration(name: name), logger: logger)
    }

    /// - Parameter eventLoopGroup: the loops its connection runs on (default: NIO's singleton).
    public static func redis(
        _ configuration: FleetConfiguration, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws -> RedisClient {
        RedisClient(
            configuration: try configuration.redis.clientConfiguration(), eventLoopGroup: eventLoopGroup, logger: logger
        )
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
