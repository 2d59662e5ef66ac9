import ArgumentParser
import Contracts
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

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
