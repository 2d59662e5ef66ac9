import ArgumentParser
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

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
