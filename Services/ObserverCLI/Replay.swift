import ArgumentParser
import Contracts
import FleetAdmin
import Foundation

/// `fraiseql-observer replay`: events of a range given to the observers again.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give events of a range back to the observers (fresh dedup scope); --dry-run lists what would run.",
        discussion: """
            Selects events of the stream by --entity and --operation and a range of stream sequences, \
            change-log cursors or capture times (inclusive), publishes each again under an id derived from the \
            replay id (webhook-ids and job ids are new; the same --replay-id run twice publishes each event \
            once), and prints per event the observers that match and the actions that run. The nats \
            transport only.
            """)

    @OptionGroup var options: AdminOptions
    @Option(help: "Only this entity type.") var entity: String?
    @Option(help: "Only insert, update or delete.") var operation: String?
    @Option(name: .customLong("from-sequence")) var fromSequence: UInt64?
    @Option(name: .customLong("to-sequence")) var toSequence: UInt64?
    @Option(name: .customLong("from-cursor")) var fromCursor: Int64?
    @Option(name: .customLong("to-cursor")) var toCursor: Int64?
    @Option(name: .customLong("from-time"), help: "RFC 3339.") var fromTime: String?
    @Option(name: .customLong("to-time"), help: "RFC 3339.") var toTime: String?
    @Option(help: "At most this many events (default 1000).") var limit: Int?
    @Option(name: .customLong("replay-id"), help: "Name the replay (a rerun publishes nothing twice).")
    var replayID: String?
    @Flag(name: .customLong("dry-run"), help: "List what would run; publish nothing.") var dryRun = false

    func run() async throws {
        let request = ReplayRequest(
            entity: entity, operation: operation, fromSequence: fromSequence, toSequence: toSequence,
            fromCursor: fromCursor, toCursor: toCursor, fromTime: try CLITime.parse(fromTime, "from-time"),
            toTime: try CLITime.parse(toTime, "to-time"), limit: limit, dryRun: dryRun, replayId: replayID)
        let format = options.format
        try await AdminConnection.run(options) { connection in
            let report = try await connection.replay(request)
            switch format {
            case .json: print(try CLIOutput.json(report))
            case .text:
                for item in report.events {
                    print(
                        "seq \(item.streamSequence) event \(item.eventId) (\(item.entity) \(item.operation), cursor "
                            + "\(item.cursor)) → "
                            + (item.actions.isEmpty ? "no observer matches" : item.actions.joined(separator: ", ")))
                }
                print(
                    "replay \(report.replayId): \(report.events.count) event(s) selected of \(report.scanned) read, "
                        + (report.dryRun ? "dry run, nothing published" : "\(report.published) published")
                        + (report.truncated ? "; LIMIT reached, the range goes on" : ""))
            }
            return CLIExit.ok
        }
    }
}
