import BridgeEngine
import Contracts
import Crypto
import Foundation
import Logging
import MariaDB

/// The bridge engine's MySQL / MariaDB adapter in binlog mode: no triggers; the row-based binlog
/// read as a replica from the checkpoint (`file:offset[:gtid]` at a transaction boundary, in the
/// checkpoint table). Positions are binlog places; event ids are derived from them; retention is
/// the database's (binlog purge): a checkpoint in a purged file is "resync required".
public final class MySQLBinlogSource: ChangeSource {
    public typealias Position = BinlogPosition

    let configuration: MariaDBConfiguration
    let transportName: String
    let serverID: UInt32
    let standbyInterval: Duration
    let tableConfiguration: [BridgeConfiguration.Table]
    let client: MariaDBClient
    let progress = BinlogProgress()

    public init(
        configuration: MariaDBConfiguration, transportName: String, serverID: UInt32? = nil,
        tables: [BridgeConfiguration.Table], standbyInterval: Duration = .milliseconds(500)
    ) {
        self.configuration = configuration
        self.transportName = transportName
        self.serverID = serverID ?? Self.defaultServerID(transport: transportName)
        self.tableConfiguration = tables
        self.standbyInterval = standbyInterval
        self.client = MariaDBClient(configuration: configuration)
    }

    /// A replica id derived from the transport name, in 2^16 … 2^31 (clear of the small ids
    /// servers are usually given).
    public static func defaultServerID(transport: String) -> UInt32 {
        let digest = Array(SHA256.hash(data: Data(transport.utf8)))
        let value = UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
        return 65_536 + value % (UInt32(Int32.max) - 65_536)
    }

    /// Records the binlog's current end as `transport`'s checkpoint when it has none: changes
    /// committed after this are captured (`install` calls it; binlog mode does not snapshot the
    /// rows already there). Returns the checkpoint.
    @discardableResult
    public static func startCheckpoint(transport: String, connection: MariaDBConnection) async throws -> String {
        let store = MySQLChangeLogStore(connection: connection)
        let problems = try await store.binlogSettingsProblems()
        if !problems.isEmpty { throw MySQLBinlogError(problems.joined(separator: "; ")) }
        if let existing = try await store.checkpointText(transport: transport) { return existing }
        guard let end = try await store.binlogEnd() else {
            throw MySQLBinlogError("SHOW MASTER STATUS returned nothing: the binlog is off")
        }
        let text = BinlogPosition(file: end.file, offset: end.position, resume: end.position).checkpointText
        _ = try await store.moveCheckpoint(transport: transport, from: nil, to: text)
        return try await store.checkpointText(transport: transport) ?? text
    }

    public func becomeLeader(logger: Logger) async throws -> MySQLBinlogSession {
        guard let database = configuration.database else { throw MySQLBinlogError("mysql.url names no database") }
        return try await MySQLLeaderLock.lead(
            configuration, transport: transportName, standbyInterval: standbyInterval, logger: logger
        ) { connection in
            let store = MySQLChangeLogStore(connection: connection)
            let text = try await Self.startCheckpoint(transport: transportName, connection: connection)
            guard let checkpoint = BinlogPosition(checkpointText: text) else {
                throw BridgeError(
                    .foreignCheckpoint,
                    "the checkpoint '\(text)' of transport '\(transportName)' is not a binlog position (file:offset): trigger mode wrote it; give binlog mode its own bridge.transport_name"
                )
            }
            let tables = MySQLBinlogTables(tableConfiguration, database: database)
            var json: [String: Set<String>] = [:]
            for table in tables.all {
                json["\(table.schema).\(table.name)"] = try await store.jsonColumns(
                    schema: table.schema, table: table.name)
            }
            return MySQLBinlogSession(
                connection: connection, configuration: configuration, transportName: transportName,
                serverID: serverID, tables: tables, charsets: try await store.collations(),
                checkpoint: checkpoint, progress: progress, jsonColumns: json, logger: logger)
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {}

    /// Events read from the binlog and not yet published, and the age of the oldest.
    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        progress.lag(now: Date().timeIntervalSince1970)
    }

    public func drift() async throws -> [String] {
        guard let database = configuration.database else { return [] }
        var problems = try await MySQLCapturedTable.load(tableConfiguration, database: database, client: client)
            .problems.map(\.description)
        problems += try await MySQLChangeLogStore(connection: client).binlogSettingsProblems()
        return problems
    }

    public func isReachable() async -> Bool {
        await client.isReachable()
    }

    public func close() async {
        await client.close()
    }
}
