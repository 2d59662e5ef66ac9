import BridgeEngine
import Config
import Foundation
import MariaDB

/// `mysql-bridge install [--print]`: creates the change log, checkpoint and dead-letter tables
/// and the capture triggers of `[[bridge.tables]]` (or prints the DDL for review). Safe to re-run:
/// tables are created when missing, triggers replaced.
public enum MySQLChangeLogInstaller {
    /// The DDL for `tables`, in order: the change-log tables, then every table's triggers.
    /// Throws ``MySQLCapturedTable/Problem`` for the first configured table or column that does not exist.
    /// In binlog mode (`triggers` false) only the checkpoint and dead-letter tables: nothing is
    /// added to the application's tables.
    public static func script(
        for tables: [BridgeConfiguration.Table], connection: MariaDBConnection, triggers: Bool = true
    ) async throws -> [String] {
        guard let database = connection.configuration.database else {
            throw MySQLCapturedTable.Problem(key: "mysql.url", message: "must name the database of the change log")
        }
        let (captured, problems) = try await MySQLCapturedTable.load(tables, database: database, client: connection)
        if let problem = problems.first { throw problem }
        guard triggers else { return MySQLChangeLogSchema.tables }
        let version = try await connection.query("SELECT VERSION()").scalar ?? ""
        let mariaDB = version.lowercased().contains("mariadb")
        return MySQLChangeLogSchema.tables
            + captured.flatMap {
                MySQLTriggers.statements(
                    for: $0, changeLogSchema: database, orReplace: mariaDB, literal: connection.literal)
            }
    }

    /// Applies ``script(for:connection:triggers:)``; in binlog mode (a `binlogTransport` given)
    /// also checks the server's binlog settings and records where capture starts (the binlog's
    /// end now) unless the transport has a checkpoint.
    public static func install(
        tables: [BridgeConfiguration.Table], configuration: MariaDBConfiguration, binlogTransport: String? = nil
    ) async throws {
        let connection = try await MariaDBConnection.connect(configuration)
        do {
            for statement in try await script(for: tables, connection: connection, triggers: binlogTransport == nil) {
                try await connection.query(statement)
            }
            if let binlogTransport {
                try await MySQLBinlogSource.startCheckpoint(transport: binlogTransport, connection: connection)
            }
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The command: exit 0 on success, 1 when the server refuses, 2 on bad configuration (naming the key).
    public static func command(
        bridge: BridgeConfiguration, url: String?, printOnly: Bool, name: String
    ) async -> Int32 {
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
            return code
        }
        guard let url else { return fail("configuration error: mysql.url is required", ConfigError.exitCode) }
        if bridge.capture == "change_tracking" {
            return fail(
                "configuration error: bridge.capture: mysql-bridge captures by 'trigger' or 'binlog'",
                ConfigError.exitCode)
        }
        let configuration: MariaDBConfiguration
        do {
            configuration = try MariaDBConfiguration(url: url)
        } catch {
            return fail("configuration error: mysql.url: \(error.message)", ConfigError.exitCode)
        }
        do {
            if printOnly {
                let connection = try await MariaDBConnection.connect(configuration)
                let statements: [String]
                do {
                    statements = try await script(
                        for: bridge.tables, connection: connection, triggers: bridge.capture != "binlog")
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
                for statement in statements { print(statement + ";\n") }
                return 0
            }
            if bridge.capture == "binlog" {
                try await install(
                    tables: bridge.tables, configuration: configuration, binlogTransport: bridge.transportName)
                print("installed the checkpoint tables; binlog capture of \(bridge.tables.count) table(s) starts here")
            } else {
                try await install(tables: bridge.tables, configuration: configuration)
                print("installed the change log and the triggers of \(bridge.tables.count) table(s)")
            }
            return 0
        } catch let problem as MySQLCapturedTable.Problem {
            return fail("configuration error: \(problem)", ConfigError.exitCode)
        } catch let problem as MySQLBinlogError {
            return fail("the server is not ready for binlog capture: \(problem)", ConfigError.exitCode)
        } catch {
            return fail("install failed: \(error)", 1)
        }
    }
}
