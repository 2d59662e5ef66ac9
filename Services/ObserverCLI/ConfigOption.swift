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

extension ConfigOption {
    static let logger = Logger(label: "fraiseql-observer")

    /// Runs `body` on a PostgreSQL connection to `[postgres] url`, closed after it.
    func withPostgres<T>(_ configuration: FleetConfiguration, _ body: (PostgresConnection) async throws -> T)
        async throws -> T
    {
        guard let url = configuration.postgres.url else {
            throw Self.exit(ConfigError(key: "postgres.url", message: "this command needs [postgres] url"))
        }
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(url.value), id: 1, logger: Self.logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
