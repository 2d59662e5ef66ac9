import ArgumentParser
import Config
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $FRAISEQL_CONFIG or fraiseql.toml).")
    var config: String?

    func load() throws -> FleetConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let path = config ?? environment["FRAISEQL_CONFIG"] ?? "fraiseql.toml"
        do {
            return try FleetConfiguration.load(path: path, environment: environment)
        } catch {
            throw Self.exit(error)
        }
    }

    /// Reports a configuration error on stderr; the exit code to throw (2, as the services).
    static func exit(_ error: ConfigError) -> ExitCode {
        FileHandle.standardError.write(Data("configuration error: \(error.description)\n".utf8))
        return ExitCode(ServiceMain.configurationExitCode)
    }
}

extension ConfigOption {
    /// A one-shot connection for a command: no reconnecting, closed by the caller.
    func connectNATS(_ configuration: FleetConfiguration) async throws -> NATSConnection {
        try await NATSConnection.connect(
            NATSClientConfiguration(url: configuration.nats.url, name: "fraiseql-observer", maxReconnects: 0))
    }
}
