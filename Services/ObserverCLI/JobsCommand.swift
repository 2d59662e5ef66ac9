import ArgumentParser
import Contracts
import FleetClients
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

struct JobsStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Queued, running, delayed and dead-lettered jobs per queue.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await options.withJobQueue { queue, configuration in
            print("queue                 queued    running    delayed        dlq")
            for name in configuration.jobs.queues {
                let depth = try await queue.depth(name)
                print(
                    name.padding(toLength: 18, withPad: " ", startingAt: 0)
                        + [depth.queued, depth.running, depth.delayed, depth.deadLetters].map {
                            String($0).leftPadded(11)
                        }.joined())
            }
        }
    }
}

struct JobsEnqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enqueue", abstract: "Enqueue one job.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The job kind (http, email, noop, sleep, …).") var kind: String
    @Option(help: "The payload, as JSON.") var payload: String = "null"
    @Option(help: "The queue (default: the first of [jobs] queues).") var queue: String?
    @Option(help: "Maximum attempts (default: [jobs] max_attempts).") var maxAttempts: Int?
    @Option(help: "Uniqueness key: not enqueued while a job with the same key is pending.") var uniqueKey: String?

    func run() async throws {
        guard let payload = try? JSONDecoder().decode(JSONValue.self, from: Data(self.payload.utf8)) else {
            throw ValidationError("--payload is not valid JSON")
        }
        try await options.withJobQueue { jobQueue, configuration in
            let job = Job(
                queue: queue ?? configuration.jobs.queues[0], kind: kind, payload: payload,
                maxAttempts: maxAttempts ?? configuration.jobs.maxAttempts, backoff: configuration.jobs.backoff,
                uniqueKey: uniqueKey)
            switch try await jobQueue.enqueue(job) {
            case .enqueued: print("enqueued job \(job.id.uuidString.lowercased()) on \(job.queue)")
            case .duplicate(let existing): print("not enqueued: job \(existing) holds unique key '\(uniqueKey ?? "")'")
            }
        }
    }
}

struct JobsDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "List dead letters of a queue, oldest first (one JSON object per line).")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The queue.") var queue: String
    @Option(help: "How many.") var count: Int = 20

    func run() async throws {
        try await options.withJobQueue { jobQueue, _ in
            for (entryID, letter) in try await jobQueue.deadLetters(queue, count: count) {
                let json = String(decoding: try WireFormat.encode(letter), as: UTF8.self)
                print("\(entryID) \(json)")
            }
        }
    }
}

struct JobsRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Put dead-lettered jobs back on their queue with attempts reset.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The queue.") var queue: String
    @Argument(help: "Dead-letter entry ids (from `jobs dlq`); none with --all.") var entryIDs: [String] = []
    @Flag(help: "Retry every dead letter of the queue.") var all = false

    func run() async throws {
        guard all != !entryIDs.isEmpty else { throw ValidationError("give entry ids or --all") }
        try await options.withJobQueue { jobQueue, _ in
            if all {
                print("retried \(try await jobQueue.retryAllDeadLetters(queue)) job(s)")
                return
            }
            for entryID in entryIDs {
                let retried = try await jobQueue.retryDeadLetter(queue, entryID: entryID)
                print("\(entryID): \(retried ? "retried" : "not found or not a job")")
            }
        }
    }
}

struct JobsPurge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete every dead letter of a queue.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The queue.") var queue: String

    func run() async throws {
        try await options.withJobQueue { jobQueue, _ in
            print("purged \(try await jobQueue.purgeDeadLetters(queue)) dead letter(s) of \(queue)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
