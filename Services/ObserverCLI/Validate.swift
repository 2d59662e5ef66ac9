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

    func run() async throws {
        let configuration = try options.load()
        do {
            try ObserverWorker.validate(configuration)
        } catch {
            throw ConfigOption.exit(error)
        }
        print(
            "configuration OK: \(configuration.observers.count) observer(s), \(configuration.bridge.tables.count) bridged table(s), stream \(configuration.nats.stream.name)"
        )
    }
}
