import ArgumentParser
import FleetAdmin

struct DeadLetterRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Retry dead letters by id (or --all): the event goes back to the workers, the job to its queue.",
        aliases: ["replay"])

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption
    @Argument(help: "Entry ids (as `dlq list` prints them); none with --all.") var ids: [String] = []
    @Flag(help: "Every letter there when the command starts (as retry-all).") var all = false
    @OptionGroup var filter: DeadLetterFilterOptions

    func run() async throws {
        guard all != !ids.isEmpty else { throw ValidationError("give entry ids or --all") }
        let (queue, ids, all, filter, format) = (try queue.parsed(), ids, all, try filter.filter(), options.format)
        try await AdminConnection.run(options) { connection in
            let results =
                all
                ? try await connection.retryAll(queue, filter: filter)
                : try await connection.retry(queue, ids: ids)
            return try RetryPrinter.report(results, format: format)
        }
    }
}
