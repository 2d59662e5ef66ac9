/// mssql-bridge: SQL Server Change Tracking (or triggers) → JetStream, through the shared bridge engine.
///
/// `mssql-bridge` runs the bridge (many replicas may run; one publishes); `mssql-bridge install
/// [--print]` enables Change Tracking on the database and `[[bridge.tables]]` and creates the
/// checkpoint tables, or in trigger mode (`bridge.capture = "trigger"`) creates the change log
/// and the tables' triggers (or prints the T-SQL).
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
        let bridgeSection = configuration.bridge
        let trigger = try triggerMode(bridgeSection)
        let (jetStream, nats) = try await FleetClients.natsServiceSet(context)
        let settings = try BridgeSettings(configuration)
        let services: ServiceSet
        if trigger {
            let source = SQLServerChangeLogSource(configuration: tds, transportName: bridgeSection.transportName)
            services = bridgeServices(source, settings: settings, tds: tds, context: context, jetStream: jetStream) {
                await source.isReachable()
            }
        } else {
            let database = SQLServerChangeTracking(configuration: tds, tables: bridgeSection.tables)
            let source = ChangeTrackingSource(
                database: database, transportName: bridgeSection.transportName, tables: bridgeSection.tables)
            services = bridgeServices(source, settings: settings, tds: tds, context: context, jetStream: jetStream) {
                await source.isReachable()
            }
        }
        return nats.merged(with: services)
    }

    /// Whether `bridge.capture` asks for trigger mode (`change_tracking`, the default, or `trigger`).
    static func triggerMode(_ bridge: BridgeConfiguration) throws -> Bool {
        switch bridge.capture {
        case nil, "change_tracking": return false
        case "trigger": return true
        default:
            throw ConfigError(key: "bridge.capture", message: "mssql-bridge captures by 'change_tracking' or 'trigger'")
        }
    }

    /// The bridge over `source` with its readiness checks (SQL Server reachable, no resync required).
    static func bridgeServices<Source: ChangeSource>(
        _ source: Source, settings: BridgeSettings, tds: TDSConfiguration, context: ServiceContext,
        jetStream: some EventPublisher, reachable: @escaping @Sendable () async -> Bool
    ) -> ServiceSet {
        let bridge = BridgeService(
            source: source, publisher: jetStream, configuration: settings, logger: context.logger)
        return ServiceSet(
            services: [bridge],
            readiness: [ReadinessCheck("mssql", check: reachable), bridge.readiness],
            links: [
                ServerLink(
                    server: "mssql", host: tds.host, verified: tds.tlsCA != nil,
                    detail: tds.tlsCA != nil
                        ? "TLS, certificate and host name verified (tls_ca)"
                        : tds.encrypt
                            ? "encrypt=require: TLS, certificate not checked (set tls_ca)"
                            : "encrypt=off: plain TCP (use encrypt=require with tls_ca)")
            ])
    }

    /// Writes the process's freetds.conf when `mssql.url` sets `tls_ca` (``FreeTDSConfigFile``).
    /// A configuration that cannot be read is left for `ServiceMain` to report (exit 2).
    public static func prepareFreeTDS() {
        let environment = ProcessInfo.processInfo.environment
        guard
            let configuration = try? FleetConfiguration.load(
                path: ServiceMain.configurationPath(environment: environment), environment: environment),
            let tds = try? tdsConfiguration(configuration.mssql.url?.value)
        else { return }
        do {
            try FreeTDSConfigFile.prepare([tds])
        } catch {
            FileHandle.standardError.write(
                Data("mssql-bridge: cannot write the freetds.conf for tls_ca: \(error)\n".utf8))
            exit(1)
        }
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
        let trigger: Bool
        do {
            trigger = try triggerMode(configuration.bridge)
        } catch {
            return fail("configuration error: \(error)", ConfigError.exitCode)
        }
        let days = Int((configuration.bridge.retention.components.seconds + 86_399) / 86_400)
        let statements =
            trigger
            ? MSSQLStatements.installTriggers(tables: configuration.bridge.tables)
            : MSSQLStatements.install(
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
            print(
                trigger
                    ? "installed the change log and the triggers of \(configuration.bridge.tables.count) table(s)"
                    : "enabled Change Tracking on \(configuration.bridge.tables.count) table(s)")
            return 0
        } catch {
            return fail("install failed: \(error)", 1)
        }
    }
}
