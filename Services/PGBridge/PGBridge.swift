/// pg-bridge: PostgreSQL change log → JetStream, through the shared bridge engine.
///
/// `pg-bridge` runs the bridge (many replicas may run; one publishes); `pg-bridge install
/// [--print]` applies (or prints) the change-log DDL and the triggers of `[[bridge.tables]]`.
import BridgeEngine
import Config
import Contracts
import FleetCore
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime

public enum PGBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        guard let url = configuration.postgres.url else {
            throw ConfigError(key: "postgres.url", message: "pg-bridge needs a PostgreSQL URL")
        }
        let postgres: PostgresConnectionConfiguration
        let client: PostgresClient
        do {
            postgres = try PostgresURL.configuration(url.value)
            // The lag gauge, the drift check and the readiness probe share this pool; the
            // leader's session and LISTEN have connections of their own.
            client = PostgresClient(
                configuration: try PostgresURL.clientConfiguration(
                    url.value, poolSize: configuration.postgres.poolSize),
                backgroundLogger: context.logger)
        } catch {
            throw ConfigError(key: "postgres.url", message: "\(error)")
        }
        let (jetStream, nats) = try await FleetClients.natsServiceSet(context)
        let source = PostgresChangeSource(
            configuration: postgres, transportName: configuration.bridge.transportName,
            tables: configuration.bridge.tables, client: client)
        let bridge = BridgeService(
            source: source, publisher: jetStream,
            configuration: try BridgeSettings(configuration),
            logger: context.logger)
        return nats.merged(
            with: ServiceSet(
                services: [client, bridge],
                readiness: [ReadinessCheck("postgres") { await source.isReachable() }, bridge.readiness],
                links: [ServerLink.postgres(url: url.value)]))
    }

    /// `pg-bridge install [--print] [--allow-superuser]`: exit 0 on success, 1 when PostgreSQL
    /// refuses, 2 on bad configuration or a superuser connection without `--allow-superuser`.
    public static func install(arguments: [String]) async -> Int32 {
        guard let configuration = ServiceMain.loadConfiguration(name: "pg-bridge") else {
            return ServiceMain.configurationExitCode
        }
        return await ChangeLogInstaller.command(
            bridge: configuration.bridge, postgres: configuration.postgres,
            printOnly: arguments.contains("--print"), name: "pg-bridge",
            allowSuperuser: arguments.contains("--allow-superuser"))
    }
}
