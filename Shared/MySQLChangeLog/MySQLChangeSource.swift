import BridgeEngine
import Contracts
import Logging
import MariaDB

/// The bridge engine's MySQL / MariaDB adapter in trigger mode: the change log filled by the
/// triggers `install` creates; positions are change-log ids; event ids are the UUIDs the triggers
/// stored; the bridge owns retention; no notifications (the engine polls every `poll_interval`).
public final class MySQLChangeSource: ChangeSource {
    public typealias Position = Int64

    let configuration: MariaDBConfiguration
    let transportName: String
    let standbyInterval: Duration
    let tables: [BridgeConfiguration.Table]
    /// Short queries (lag, drift, readiness) on a reconnecting connection of their own.
    let client: MariaDBClient

    public init(
        configuration: MariaDBConfiguration, transportName: String, standbyInterval: Duration = .milliseconds(500),
        tables: [BridgeConfiguration.Table] = []
    ) {
        self.configuration = configuration
        self.transportName = transportName
        self.standbyInterval = standbyInterval
        self.tables = tables
        self.client = MariaDBClient(configuration: configuration)
    }

    /// Leadership is `GET_LOCK` on a connection of the leader's own: it dies with the process
    /// or the connection, and a standby takes it within `standbyInterval`.
    public func becomeLeader(logger: Logger) async throws -> ChangeLogSession<MySQLChangeLogConnection> {
        try await MySQLLeaderLock.lead(
            configuration, transport: transportName, standbyInterval: standbyInterval, logger: logger
        ) { connection in
            let store = MySQLChangeLogStore(connection: connection)
            try await store.prepareSession()
            let checkpoint = try await store.checkpoint(transport: transportName)
            let dirty = try await MariaDBConnection.connect(configuration)
            do {
                try await MySQLChangeLogStore(connection: dirty).readUncommitted()
            } catch {
                await dirty.close()
                throw error
            }
            return ChangeLogSession(
                connection: MySQLChangeLogConnection(
                    connection: connection, dirty: dirty, transportName: transportName),
                transportName: transportName, checkpoint: checkpoint, logger: logger)
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {}

    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        try await MySQLChangeLogStore(connection: client).backlog()
    }

    /// Configured tables or columns that no longer exist in the database.
    public func drift() async throws -> [String] {
        guard !tables.isEmpty, let database = configuration.database else { return [] }
        return try await MySQLCapturedTable.load(tables, database: database, client: client).problems.map(\.description)
    }

    /// Whether the server answers (for `/health/ready`).
    public func isReachable() async -> Bool {
        await client.isReachable()
    }

    public func close() async {
        await client.close()
    }
}
