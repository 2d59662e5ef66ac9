import ArgumentParser
import FleetAdmin
import Foundation

struct DeadLetterShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One dead letter, in full.")

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption
    @Argument(help: "The entry id (as `dlq list` prints it).") var id: String

    func run() async throws {
        let (queue, id, format) = (try queue.parsed(), id, options.format)
        try await AdminConnection.run(options) { connection in
            let entry = try await connection.deadLetter(queue, id: id)
            guard format == .text else {
                print(try CLIOutput.json(entry))
                return CLIExit.ok
            }
            print("entry:        \(entry.id) (\(entry.queue))")
            guard let letter = entry.letter else {
                print("unreadable:   \(entry.raw ?? "")")
                return CLIExit.ok
            }
            print("letter id:    \(letter.id.uuidString.lowercased())")
            print("reason:       \(letter.reason.rawValue)")
            print("origin:       \(letter.origin)")
            print("handler:      \(letter.handler ?? "-")")
            print("event id:     \(letter.eventId?.uuidString.lowercased() ?? "-")")
            print("attempts:     \(letter.attempts)")
            print("first failed: \(letter.firstFailedAt.rfc3339)")
            print("last failed:  \(letter.lastFailedAt.rfc3339)")
            print("last error:   \(letter.lastError)")
            print("payload:      \(letter.payload)")
            return CLIExit.ok
        }
    }
}
