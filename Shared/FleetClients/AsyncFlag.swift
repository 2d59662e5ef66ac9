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
