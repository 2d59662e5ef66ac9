import ArgumentParser
import FleetAdmin

struct DeadLetterRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Delete dead letters without retrying them.")

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption
    @Argument(help: "Entry ids (as `dlq list` prints them).") var ids: [String]

    func run() async throws {
        guard !ids.isEmpty else { throw ValidationError("give the entry ids to remove") }
        let (queue, ids, format) = (try queue.parsed(), ids, options.format)
        try await AdminConnection.run(options) { connection in
            let removed = try await connection.remove(queue, ids: ids)
            print(format == .json ? #"{"removed":\#(removed)}"# : "removed \(removed) of \(ids.count) dead letter(s)")
            return removed == ids.count ? CLIExit.ok : CLIExit.partial
        }
    }
}
