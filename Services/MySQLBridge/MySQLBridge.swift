/// mysql-bridge: MySQL / MariaDB change capture → JetStream, through the shared bridge engine.
///
/// `mysql-bridge` runs the bridge (many replicas may run; one publishes); `mysql-bridge install
/// [--print]` creates (or prints) the change-log tables and the triggers of `[[bridge.tables]]`.
import BridgeEngine
import Config
import Contracts
import FleetCore
import Foundation
import Logging
import MariaDB
import MySQLChangeLog
import Runtime

public enum MySQLBridge {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        guard let url = configuration.mysql.url else {
            throw ConfigError(key: "mysql.url", message: "mysql-bridge needs a MySQL or MariaDB URL")
        }
        let mysql: MariaDBConfiguration
        do {
            mysql = try MariaDBConfiguration(url: url.value)
        } catch {
            throw ConfigError(key: "mysql.url", message: error.message)
        }
        guard mysql.database != nil else {
            throw ConfigError(key: "mysql.url", message: "must name the database that holds the change log")
        }
        let bridgeSection = configuration.bridge
        if bridgeSection.capture == "change_tracking" {
            throw ConfigError(key: "bridge.capture", message: "mysql-bridge captures by 'trigger' or 'binlog'")
        }
        let (jetStream, nats) = try await FleetClients.natsServiceSet(context)
        let settings = try BridgeSettings(configuration)
        let services: ServiceSet
        if bridgeSection.capture == "binlog" {
            let source = MySQLBinlogSource(
                configuration: mysql, transportName: bridgeSection.transportName,
                serverID: bridgeSection.binlogServerID, tables: bridgeSection.tables)
            services = bridgeServices(source, settings: settings, mysql: mysql, context: context, jetStream: jetStream)
            {
                await source.isReachable()
            }
        } else {
            let source = MySQLChangeSource(
                configuration: mysql, transportName: bridgeSection.transportName, tables: bridgeSection.tables)
            services = bridgeServices(source, settings: settings, mysql: mysql, context: context, jetStream: jetStream)
            {
                await source.isReachable()
            }
        }
        return nats.merged(with: services)
    }

    /// The bridge over `source` with its readiness checks (MySQL reachable, no resync required).
    static func bridgeServices<Source: ChangeSource>(
        _ source: Source, settings: BridgeSettings, mysql: MariaDBConfiguration, context: ServiceContext,
        jetStream: some EventPublisher, isReachable: @escaping @Sendable () async -> Bool
    ) -> ServiceSet {
        let bridge = BridgeService(
            source: source, publisher: jetStream, configuration: settings, logger: context.logger)
        return ServiceSet(
            services: [bridge], readiness: [ReadinessCheck("mysql", check: isReachable), bridge.readiness],
            links: [mysqlLink(mysql)])
    }

    /// How the bridge reaches the server, for the startup report of exposed links.
    static func mysqlLink(_ configuration: MariaDBConfiguration) -> ServerLink {
        let detail =
            switch configuration.tls {
            case .verifyIdentity: "TLS, certificate and host name verified"
            case .required: "tls=required: TLS, certificate not checked (use verify_identity)"
            case .preferred: "tls=preferred: TLS when offered (use verify_identity)"
            case .disabled: "tls=disabled: plain TCP (use tls=verify_identity)"
            }
        return ServerLink(
            server: "mysql", host: configuration.host, verified: configuration.tls == .verifyIdentity, detail: detail)
    }

    /// `mysql-bridge install [--print]`: exit 0 on success, 1 when the server refuses, 2 on bad
    /// configuration (naming the key).
    public static func install(arguments: [String]) async -> Int32 {
        guard let configuration = ServiceMain.loadConfiguration(name: "mysql-bridge") else {
            return ServiceMain.configurationExitCode
        }
        return await MySQLChangeLogInstaller.command(
            bridge: configuration.bridge, url: configuration.mysql.url?.value,
            printOnly: arguments.contains("--print"), name: "mysql-bridge")
    }
}
