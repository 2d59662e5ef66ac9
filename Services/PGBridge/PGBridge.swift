/// pg-bridge: PostgreSQL change log → JetStream.
///
/// Today it connects to NATS and provisions the `ENTITY_CHANGES` stream; the change capture
/// (issue "pg-bridge") builds on this entry point.
import FleetClients
import Runtime

public enum PGBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return nats
    }
}
