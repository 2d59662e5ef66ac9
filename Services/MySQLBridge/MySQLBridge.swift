/// mysql-bridge: MySQL / MariaDB change log → JetStream. Today: NATS connection and stream provisioning.
import FleetCore
import Runtime

public enum MySQLBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return nats
    }
}
