import ArgumentParser
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

/// `fraiseql-observer jobs …`: the job queues through the shared JobQueue library.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the job queues, enqueue a job, list, retry or purge dead letters.",
        subcommands: [JobsStatus.self, JobsEnqueue.self, JobsDeadLetters.self, JobsRetry.self, JobsPurge.self])
}

extension ConfigOption {
    /// The job queue of the configured Redis, for one command; `body` runs with it, then it closes.
    func withJobQueue<T>(_ body: (JobQueue, FleetConfiguration) async throws -> T) async throws -> T {
        let configuration = try load()
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let queue = JobQueue(
            redis: redis, prefix: configuration.redis.keyPrefix, uniqueTTL: configuration.jobs.uniqueTTL,
            deadLetterMaxLength: configuration.jobs.deadLetterMaxLength)
        return try await body(queue, configuration)
    }
}
