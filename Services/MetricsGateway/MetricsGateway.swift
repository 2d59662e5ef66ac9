/// metrics-gateway: fleet-wide gauges, status page, admin API. Today: its NATS and Redis clients and readiness.
import FleetCore
import Runtime

public enum MetricsGateway {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, redis) = try FleetClients.redisServiceSet(context)
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return redis.merged(with: nats)
    }
}
