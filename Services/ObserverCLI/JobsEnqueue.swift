import ArgumentParser
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

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
