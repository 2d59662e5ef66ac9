/// flight-server: Arrow Flight streaming of events. Today: its NATS client and readiness.
import FleetCore
import Runtime

public enum FlightServer {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return nats
    }
}
