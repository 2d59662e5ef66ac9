import ArgumentParser
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

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
