import ArgumentParser
import FleetAdmin

struct DeadLetterStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "How many dead letters, by reason and by handler; the oldest and newest.")

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption

    func run() async throws {
        let (queue, format) = (try queue.parsed(), options.format)
        try await AdminConnection.run(options) { connection in
            let stats = try await connection.stats(queue)
            guard format == .text else {
                print(try CLIOutput.json(stats))
                return CLIExit.ok
            }
            func list(_ counts: [String: Int64]) -> String {
                counts.isEmpty
                    ? "-" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }
            print("\(stats.queue): \(stats.count) dead letter(s)")
            print("by reason:  \(list(stats.byReason))")
            print("by handler: \(list(stats.byHandler))")
            if let oldest = stats.oldestFailedAt, let newest = stats.newestFailedAt {
                print("failed between \(oldest.rfc3339) and \(newest.rfc3339)")
            }
            return CLIExit.ok
        }
    }
}
