/// job-worker: Redis job streams with retries, backoff and DLQ. Today: its Redis client and readiness.
import FleetClients
import Runtime

public enum JobWorker {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (_, redis) = try FleetClients.redisServiceSet(context)
        return redis
    }
}
