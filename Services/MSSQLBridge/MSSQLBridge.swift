/// mssql-bridge: SQL Server Change Tracking → JetStream. Today: NATS connection and stream provisioning.
import FleetCore
import Runtime

public enum MSSQLBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return nats
    }
}
