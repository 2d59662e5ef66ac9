/// job-worker: consumes the Redis job queues with bounded concurrency, retries with backoff,
/// dead-letters what cannot succeed, reclaims the jobs of crashed workers, and returns unfinished
/// jobs on shutdown.
import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

public enum JobWorker {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let (redis, redisSet) = try FleetClients.redisServiceSet(context)
        // Blocking reads hold their connection: they get one of their own.
        let reader = try FleetClients.redis(context.configuration, logger: context.logger)
        let jobs = context.configuration.jobs
        let queue = JobQueue(
            redis: redis, prefix: context.configuration.redis.keyPrefix, uniqueTTL: jobs.uniqueTTL,
            deadLetterMaxLength: jobs.deadLetterMaxLength)
        let worker = JobWorkerService(
            queue: queue, reader: reader, settings: JobWorkerSettings(jobs),
            handlers: try defaultHandlers(context.configuration), logger: context.logger)
        return redisSet.merged(
            with: ServiceSet(
                services: [reader, worker], readiness: [],
                links: ServerLink.smtp(context.configuration.smtp).map { [$0] } ?? []))
    }

    /// The job kinds this worker runs.
    public static func defaultHandlers(_ configuration: FleetConfiguration) throws(ConfigError) -> [any JobHandler] {
        [
            NoopJob(), SleepJob(), EmailJob(configuration.smtp),
            HTTPJob(
                delivery: HTTPDelivery(policy: try outboundPolicy(configuration.jobs)),
                defaultTimeout: configuration.jobs.jobTimeout),
        ]
    }

    /// Where `http` jobs may go (`jobs.http_allowed_hosts`).
    static func outboundPolicy(_ jobs: JobsConfiguration) throws(ConfigError) -> OutboundPolicy {
        try OutboundPolicy(allowedHosts: jobs.httpAllowedHosts, key: "jobs.http_allowed_hosts")
    }
}
