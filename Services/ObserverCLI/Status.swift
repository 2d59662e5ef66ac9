import ArgumentParser
import FleetAdmin
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every stage: change log and bridge, stream and consumers, dead letters, job queues, open circuits.",
        discussion: "Exit 0 when every part could be read, 3 when one could not (named under PROBLEM).")

    @OptionGroup var options: AdminOptions

    func run() async throws {
        let format = options.format
        try await AdminConnection.run(options) { connection in
            let status = try await connection.status()
            switch format {
            case .text: print(status.text)
            case .json: print(try CLIOutput.json(status))
            }
            return status.problems.isEmpty ? CLIExit.ok : CLIExit.unavailable
        }
    }
}
