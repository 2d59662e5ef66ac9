import BridgeEngine
import Contracts
import Logging
import PostgresNIO
import Runtime

/// The bridge engine's PostgreSQL adapter: positions are change-log ids (each row is its own
/// mark; every row ends its transaction for the engine, because rows are marked one by one in the
/// pending table and late commits are found by the sweep); event ids are the UUIDs the trigger
/// stored; the bridge owns retention.
public final class PostgresChangeSource: ChangeSource {
    public typealias Position = Int64

    let configuration: PostgresConnection.Configuration
    let transportName: String
    /// How often a standby retries the leader lock.
    let standbyInterval: Duration
    /// The captured tables, for the drift check.
    let tables: [BridgeConfiguration.Table]
    /// Short queries (lag, drift, readiness), when the service runs a pool.
    let client: PostgresClient?

    public init(
        configuration: PostgresConnection.Configuration, transportName: String,
        standbyInterval: Duration = .milliseconds(500), tables: [BridgeConfiguration.Table] = [],
        client: PostgresClient? = nil
    ) {
        self.tables = tables
        self.configuration = configuration
        self.transportName = transportName
        self.standbyInterval = standbyInterval
        self.client = client
    }

    /// Leadership is a session advisory lock keyed by the transport name: it dies with the
    /// leader's connection (process killed, network lost) and a standby takes it within
    /// `standbyInterval`. A session that matters: a dedicated connection, not the pool's.
    public func becomeLeader(logger: Logger) async throws -> PostgresChangeSession {
        let store = try await LeaderLock.acquire(
            standbyInterval: standbyInterval, logger: logger,
            connect: { try await ChangeLogStore.connect(configuration, id: 2, logger: logger) },
            tryLock: { try await $0.tryLeaderLock(transport: transportName) }, close: { await $0.close() })
        do {
            try await store.planForBatchReads()
            let checkpoint = try await store.checkpoint(transport: transportName)
            return PostgresChangeSession(store: store, transportName: transportName, checkpoint: checkpoint?.cursor)
        } catch {
            await store.close()
            throw error
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {
        await ChangeNotifications(configuration: configuration).watch(logger: logger, signal: signal)
    }

    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        try await withStore(label: "fraiseql.bridge.lag") { try await $0.backlog() }
    }

    /// The configured tables' problems in the database now (see ``CapturedTables``).
    public func drift() async throws -> [String] {
        guard !tables.isEmpty else { return [] }
        let tables = self.tables
        return try await withStore(label: "fraiseql.bridge.drift") { [tables] store in
            try await CapturedTables.check(tables, connection: store.connection, logger: store.logger)
                .map(\.description)
        }
    }

    /// Whether PostgreSQL answers within 2 seconds (for `/health/ready`).
    public func isReachable() async -> Bool {
        (try? await withStore(label: "fraiseql.bridge.health", timeout: .seconds(2)) { await $0.ping() }) ?? false
    }

    /// A short query: on a pooled connection, or on one of its own that is closed before this
    /// returns (never left to a fire-and-forget task). On the pool, `timeout` bounds both the
    /// wait for a connection (the pool waits as long as PostgreSQL is unreachable) and the query
    /// (its connection is closed after it), so an abandoned query never holds a pooled connection.
    private func withStore<T: Sendable>(
        label: String, timeout: Duration = .seconds(30), _ body: @escaping @Sendable (ChangeLogStore) async throws -> T
    ) async throws -> T {
        let logger = Logger(label: label)
        if let client {
            return try await withTimeout(timeout) {
                try await client.withConnection {
                    try await body(ChangeLogStore(connection: $0, logger: logger, queryTimeout: timeout))
                }
            }
        }
        let store = try await ChangeLogStore.connect(configuration, id: 4, logger: logger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}
