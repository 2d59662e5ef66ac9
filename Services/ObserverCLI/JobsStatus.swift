import ArgumentParser
import Contracts
import FleetAdmin
import FleetCore
import Foundation
import JobQueue
import Logging
import Redis
import Runtime

struct JobsStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Queued, running, delayed and dead-lettered jobs per queue.")
    @OptionGroup var options: ConfigOption
    @Option(help: "text or json.") var format: OutputFormat = .text

    func run() async throws {
        let format = format
        try await options.withJobQueue { queue, configuration in
            if format == .json {
                var queues: [FleetStatus.JobQueue] = []
                for name in configuration.jobs.queues {
                    let depth = try await queue.depth(name)
                    queues.append(
                        FleetStatus.JobQueue(
                            name: name, queued: depth.queued, running: depth.running, delayed: depth.delayed,
                            dead: depth.deadLetters))
                }
                print(try CLIOutput.json(queues))
                return
            }
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
