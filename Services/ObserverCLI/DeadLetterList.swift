import ArgumentParser
import Contracts
import FleetAdmin
import Foundation

struct DeadLetterList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Dead letters, oldest first: entry id, then the letter as JSON.")

    @OptionGroup var options: AdminOptions
    @OptionGroup var queue: QueueOption
    @Option(help: "How many (1...1000).") var count: Int = 20
    @Option(help: "Start after this entry id (the last one of the previous page).") var after: String?
    @Flag(help: "The newest first instead.") var newest = false
    @Flag(help: "Print only the count.") var summary = false

    func run() async throws {
        let queue = try queue.parsed()
        let (format, count, after, newest, summary) = (options.format, count, after, newest, summary)
        try await AdminConnection.run(options) { connection in
            if summary {
                let stats = try await connection.stats(queue)
                print(format == .json ? try CLIOutput.json(stats) : "\(stats.count) dead letter(s) in \(queue)")
                return CLIExit.ok
            }
            let entries = try await connection.deadLetters(queue, count: count, after: after, newest: newest)
            switch format {
            case .json: print(try CLIOutput.json(entries))
            case .text:
                for entry in entries {
                    let json =
                        try entry.letter.map { String(decoding: try WireFormat.encode($0), as: UTF8.self) }
                        ?? entry.raw ?? ""
                    print("\(entry.id) \(json)")
                }
            }
            return CLIExit.ok
        }
    }
}
