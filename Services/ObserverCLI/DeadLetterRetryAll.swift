import ArgumentParser
import FleetAdmin

struct DeadLetterRetryAll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry-all",
        abstract: "Retry every dead letter there when the command starts that matches the filter.")

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption
    @OptionGroup var filter: DeadLetterFilterOptions

    func run() async throws {
        let (queue, filter, format) = (try queue.parsed(), try filter.filter(), options.format)
        try await AdminConnection.run(options) { connection in
            try RetryPrinter.report(try await connection.retryAll(queue, filter: filter), format: format)
        }
    }
}
