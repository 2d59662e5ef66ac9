import Delivery
import NATS
import Redis
import Runtime

extension FleetClients {
    /// The NATS part every NATS-using service starts with: the connection, a JetStream context,
    /// the stream provisioner, and their readiness checks.
    public static func natsServiceSet(_ context: ServiceContext) async throws -> (JetStream, ServiceSet) {
        let connection = try await nats(context.configuration, name: context.name, logger: context.logger)
        let jetStream = try connection.jetStream()
        let provisioner = StreamProvisioner(
            jetStream: jetStream, configuration: context.configuration.nats.streamConfiguration, logger: context.logger)
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

extension FleetClients {
    /// The SMTP client for `[smtp]`, or nil when no host is configured.
    public static func smtp(_ configuration: SMTPConfiguration) -> SMTPClient? {
        configuration.settings.map { SMTPClient(settings: $0) }
    }
}
