import Contracts
import Logging
import PostgresNIO

/// Every statement the fleet runs on the schema `fraiseql_observer` (``ChangeLogSchema`` owns its
/// DDL), on one connection: the bridge's leadership, batch reads, marks and checkpoints
/// (`+Bridge`); the `postgres` observer transport's claims, settlements and retries (`+Claims`);
/// done marks (`+Marks`); dead letters and their replay (`+DeadLetters`); retention and backlog
/// (`+Retention`); the search action's audit index (`+AuditIndex`). No other module writes SQL
/// against the schema.
public struct ChangeLogStore: Sendable {
    public let connection: PostgresConnection
    let logger: Logger
    /// How long a statement may take before its connection is closed (which fails it): on a
    /// pooled connection, a short query must not hold the connection longer than its caller waits.
    let queryTimeout: Duration

    public init(connection: PostgresConnection, logger: Logger, queryTimeout: Duration = .seconds(60)) {
        self.connection = connection
        self.logger = logger
        self.queryTimeout = queryTimeout
    }

    /// Every statement goes through here.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await connection.checkedQuery(query, logger: logger, timeout: queryTimeout)
    }

    /// Connects (the caller closes ``connection``).
    public static func connect(
        _ configuration: PostgresConnection.Configuration, id: Int = 1, logger: Logger
    ) async throws -> ChangeLogStore {
        ChangeLogStore(
            connection: try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger),
            logger: logger)
    }

    public func close() async {
        try? await connection.close()
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try await run("BEGIN", logger: logger)
        do {
            let result = try await body()
            try await run("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await run("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Whether PostgreSQL answers.
    public func ping() async -> Bool {
        (try? await run("SELECT 1", logger: logger).collect().count) == 1
    }

    /// Whether one of `objects` (tables or indexes of the schema) is missing.
    public func missing(_ objects: [String]) async throws -> Bool {
        let names = objects.map { "\(ChangeLogSchema.schema).\($0)" }
        let rows = try await run(
            "SELECT bool_or(to_regclass(name) IS NULL) FROM unnest(\(names)::text[]) AS name", logger: logger)
        var missing = true
        for try await value in rows.decode(Bool.self) { missing = value }
        return missing
    }

    /// Runs `ddl` (idempotent statements, ``ChangeLogSchema``'s) when one of `objects` is
    /// missing. `CREATE … IF NOT EXISTS` checks the role's rights before it skips what exists, so
    /// a role with data rights only can run a worker once the objects are there.
    public func ensure(_ ddl: ChangeLogSchema.Objects) async throws {
        guard try await missing(ddl.names) else { return }
        // One transaction, serialised with the other workers' by a lock that ends with it.
        try await transaction {
            try await run("SELECT pg_advisory_xact_lock(hashtext(\(ddl.lockKey)))", logger: logger)
            for statement in ddl.statements {
                try await run(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }

    /// Wakes the listeners (``ChangeNotifications``) when the transaction commits, as the
    /// triggers do.
    public func notifyChanges() async throws {
        try await run(
            PostgresQuery(unsafeSQL: "SELECT pg_notify('\(ChangeLogSchema.notifyChannel)', '')"), logger: logger)
    }

    func flag(_ query: PostgresQuery) async throws -> Bool {
        var value = false
        for try await flag in try await run(query, logger: logger).decode(Bool.self) {
            value = flag
        }
        return value
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await run(query, logger: logger).collect().count
    }
}
