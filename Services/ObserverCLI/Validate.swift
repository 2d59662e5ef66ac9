import ArgumentParser
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate the configuration as the services do; exit 2 when it is bad.")

    @OptionGroup var options: ConfigOption
    @Option(help: "text or json.") var format: OutputFormat = .text

    func run() async throws {
        let configuration = try options.load()
        do {
            try ObserverWorker.validate(configuration)
        } catch {
            throw ConfigOption.exit(error)
        }
        if format == .json {
            print(
                try CLIOutput.json(
                    Report(
                        valid: true, observers: configuration.observers.count,
                        bridgedTables: configuration.bridge.tables.count, stream: configuration.nats.stream.name)))
            return
        }
        print(
            "configuration OK: \(configuration.observers.count) observer(s), \(configuration.bridge.tables.count) bridged table(s), stream \(configuration.nats.stream.name)"
        )
    }

    /// `--format json`'s answer (an invalid file exits 2 with the error on stderr).
    private struct Report: Encodable {
        var valid: Bool
        var observers: Int
        var bridgedTables: Int
        var stream: String

        enum CodingKeys: String, CodingKey {
            case valid, observers, stream
            case bridgedTables = "bridged_tables"
        }
    }
}
