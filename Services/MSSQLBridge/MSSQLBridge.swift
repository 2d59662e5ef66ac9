/// mssql-bridge: SQL Server Change Tracking → JetStream, through the shared bridge engine.
///
/// `mssql-bridge` runs the bridge (many replicas may run; one publishes); `mssql-bridge install
/// [--print]` enables Change Tracking on the database and `[[bridge.tables]]` and creates the
/// checkpoint tables (or prints the T-SQL).
import BridgeEngine
import Config
import Contracts
import FleetCore
import Foundation
import FreeTDS
import Logging
import MSSQLChangeLog
import Runtime

public enum MSSQLBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        let tds = try tdsConfiguration(configuration.mssql.url?.value)
        let (jetStream, nats) = try await FleetClients.natsServiceSet(context)
        let bridgeSection = configuration.bridge
        let database = SQLServerChangeTracking(configuration: tds, tables: bridgeSection.tables)
        let source = ChangeTrackingSource(
            database: database, transportName: bridgeSection.transportName, tables: bridgeSection.tables)
        let bridge = BridgeService(
            source: source, publisher: jetStream,
            configuration: BridgeSettings(
                transportName: bridgeSection.transportName,
                subjectNamer: try SubjectNamer(prefix: configuration.nats.subjectPrefix),
                batchSize: bridgeSection.batchSize, pollInterval: bridgeSection.pollInterval,
                publishTimeout: configuration.nats.requestTimeout * 2,
                oversized: OversizedPolicy(rawValue: bridgeSection.oversized) ?? .deadLetter),
            logger: context.logger)
        return nats.merged(
            with: ServiceSet(
                services: [bridge],
                readiness: [ReadinessCheck("mssql") { await source.isReachable() }, bridge.readiness],
                links: [
                    ServerLink(
                        server: "mssql", host: tds.host, verified: false,
                        detail: tds.encrypt
                            ? "encrypt=require: TLS; the certificate is checked only as freetds.conf says"
                            : "encrypt=off: plain TCP (use encrypt=require)")
                ]))
    }

    static func tdsConfiguration(_ url: String?) throws -> TDSConfiguration {
        guard let url else { throw ConfigError(key: "mssql.url", message: "mssql-bridge needs a SQL Server URL") }
        do {
            return try TDSConfiguration(url: url)
        } catch {
            throw ConfigError(key: "mssql.url", message: error.message)
        }
    }

    /// `mssql-bridge install [--print]`: exit 0 on success, 1 when the server refuses, 2 on bad
    /// configuration. Change Tracking's retention is `bridge.retention` in whole days (at least 1).
    public static func install(arguments: [String]) async -> Int32 {
        guard let configuration = ServiceMain.loadConfiguration(name: "mssql-bridge") else {
            return ServiceMain.configurationExitCode
        }
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("mssql-bridge: \(message)\n".utf8))
            return code
        }
        let days = Int((configuration.bridge.retention.components.seconds + 86_399) / 86_400)
        let statements = MSSQLStatements.install(
            tables: configuration.bridge.tables, retentionDays: days, transport: configuration.bridge.transportName)
        if arguments.contains("--print") {
            for statement in statements { print(statement + "\nGO\n") }
            return 0
        }
        let tds: TDSConfiguration
        do {
            tds = try tdsConfiguration(configuration.mssql.url?.value)
        } catch {
            return fail("configuration error: \(error)", ConfigError.exitCode)
        }
        do {
            let connection = try await TDSConnection.connect(tds)
            do {
                for statement in statements { try await connection.query(statement) }
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
            print("enabled Change Tracking on \(configuration.bridge.tables.count) table(s)")
            return 0
        } catch {
            return fail("install failed: \(error)", 1)
        }
    }
}
