/// observer-worker: JetStream durable consumer → rules → actions. Today: its NATS and Redis
/// clients, stream provisioning and readiness; the pipeline builds on this entry point.
import FleetClients
import Runtime

public enum ObserverWorker {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, redis) = try FleetClients.redisServiceSet(context)
        let (_, nats) = try await FleetClients.natsServiceSet(context)
        return redis.merged(with: nats)
    }
}
