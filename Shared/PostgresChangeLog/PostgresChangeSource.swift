import BridgeEngine
import Contracts
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Runtime

/// Parses `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`.
///
/// `sslmode` follows libpq: `disable`; `prefer` (the default: TLS when the server offers it,
/// certificate not checked); `require` (TLS, certificate not checked); `verify-ca` (the chain must
/// lead to `sslrootcert`, or the system's CAs); `verify-full` (and the host name or IP must match).
/// `sslcert` and `sslkey` give a client certificate.
public enum PostgresURL {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func configuration(_ url: String) throws -> PostgresConnection.Configuration {
        guard let components = URLComponents(string: url),
            ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else { throw Invalid(description: "not a postgres:// URL") }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] { parameters[item.name] = item.value ?? "" }
        for name in parameters.keys where !["sslmode", "sslrootcert", "sslcert", "sslkey"].contains(name) {
            throw Invalid(description: "unknown URL parameter '\(name)' (sslmode, sslrootcert, sslcert, sslkey)")
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database,
            tls: try tls(parameters))
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    static func tls(_ parameters: [String: String]) throws -> PostgresConnection.Configuration.TLS {
        let mode = parameters["sslmode"] ?? "prefer"
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case "disable": return .disable
        case "prefer", "require": tls.certificateVerification = .none
        case "verify-ca": tls.certificateVerification = .noHostnameVerification
        case "verify-full": tls.certificateVerification = .fullVerification
        default:
            throw Invalid(
                description: "sslmode '\(mode)' is not one of disable, prefer, require, verify-ca, verify-full")
        }
        do {
            if let root = parameters["sslrootcert"] { tls.trustRoots = .file(root) }
            if let certificate = parameters["sslcert"], let key = parameters["sslkey"] {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            let context = try NIOSSLContext(configuration: tls)
            return mode == "prefer" ? .prefer(context) : .require(context)
        } catch {
            throw Invalid(description: "TLS settings: \(error)")
        }
    }
}

/// Applies the change-log DDL in one transaction (PostgreSQL DDL is transactional).
public enum ChangeLogInstaller {
    public static func install(
        configuration: PostgresConnection.Configuration, tables: [Runtime.BridgeConfiguration.Table], logger: Logger
    ) async throws {
        let statements = try ChangeLogSchema.statements(for: tables)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.checkedQuery("BEGIN", logger: logger)
        do {
            // Serialise concurrent installs (CREATE OR REPLACE FUNCTION races otherwise).
            try await connection.checkedQuery(
                "SELECT pg_advisory_xact_lock(hashtext('fraiseql_observer.install'))", logger: logger)
            for statement in statements {
                try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.checkedQuery("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension ChangeLogInstaller {
    /// The `install [--print]` command shared by `pg-bridge` and `fraiseql-observer`: prints the
    /// DDL or applies it, reports on stdout/stderr, and returns the exit code (0; 1 when
    /// PostgreSQL refuses; 2 for a configuration problem).
    public static func command(configuration: FleetConfiguration, printOnly: Bool, name: String) async -> Int32 {
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
            return code
        }
        do {
            if printOnly {
                print(try ChangeLogSchema.script(for: configuration.bridge.tables), terminator: "")
                return 0
            }
            guard let url = configuration.postgres.url else {
                return fail("configuration error: postgres.url is required", ServiceMain.configurationExitCode)
            }
            try await install(
                configuration: try PostgresURL.configuration(url.value), tables: configuration.bridge.tables,
                logger: Logger(label: "fraiseql.\(name).install"))
            print("installed fraiseql_observer change log and \(configuration.bridge.tables.count) trigger(s)")
            return 0
        } catch let error as ChangeLogSchema.InstallError {
            return fail("install: \(error.description)", ServiceMain.configurationExitCode)
        } catch let error as PostgresURL.Invalid {
            return fail("configuration error: postgres.url: \(error.description)", ServiceMain.configurationExitCode)
        } catch {
            return fail("install failed: \(String(reflecting: error))", 1)
        }
    }
}

/// `CheckpointStore` in the table `fraiseql_observer.checkpoints`.
public struct PostgresCheckpointStore: CheckpointStore {
    let connection: PostgresConnection
    let logger: Logger

    public init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public func load(transport: String) async throws -> Checkpoint? {
        let rows = try await connection.checkedQuery(
            """
            SELECT cursor, (extract(epoch FROM updated_at) * 1000000)::int8
              FROM fraiseql_observer.checkpoints WHERE transport = \(transport)
            """, logger: logger)
        for try await (cursor, micros) in rows.decode((Int64, Int64).self) {
            return Checkpoint(
                transport: transport, cursor: cursor, updatedAt: Timestamp(microsecondsSinceEpoch: micros))
        }
        return nil
    }

    public func save(_ checkpoint: Checkpoint) async throws {
        try await connection.checkedQuery(
            """
            INSERT INTO fraiseql_observer.checkpoints (transport, cursor, updated_at)
            VALUES (\(checkpoint.transport), \(checkpoint.cursor), now())
            ON CONFLICT (transport) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()
            """, logger: logger)
    }

    public func compareAndSwap(expected: Int64?, new: Checkpoint) async throws -> Bool {
        let rows: PostgresRowSequence
        if let expected {
            rows = try await connection.checkedQuery(
                """
                UPDATE fraiseql_observer.checkpoints SET cursor = \(new.cursor), updated_at = now()
                 WHERE transport = \(new.transport) AND cursor = \(expected) RETURNING 1
                """, logger: logger)
        } else {
            rows = try await connection.checkedQuery(
                """
                INSERT INTO fraiseql_observer.checkpoints (transport, cursor, updated_at)
                VALUES (\(new.transport), \(new.cursor), now()) ON CONFLICT (transport) DO NOTHING RETURNING 1
                """, logger: logger)
        }
        return try await rows.collect().count == 1
    }
}

/// The bridge engine's PostgreSQL adapter.
public final class PostgresChangeSource: ChangeSource {
    let configuration: PostgresConnection.Configuration
    let transportName: String
    /// How often a standby retries the leader lock.
    let standbyInterval: Duration

    public init(
        configuration: PostgresConnection.Configuration, transportName: String,
        standbyInterval: Duration = .milliseconds(500)
    ) {
        self.configuration = configuration
        self.transportName = transportName
        self.standbyInterval = standbyInterval
    }

    /// Leadership is a session advisory lock keyed by the transport name: it dies with the
    /// leader's connection (process killed, network lost) and a standby takes it within
    /// `standbyInterval`.
    public func becomeLeader(logger: Logger) async throws -> any ChangeSession {
        var announcedStandby = false
        while true {
            try Task.checkCancellation()
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
            do {
                while true {
                    try Task.checkCancellation()
                    let rows = try await connection.checkedQuery(
                        "SELECT pg_try_advisory_lock(hashtext(\("fraiseql_observer.bridge." + transportName)))",
                        logger: logger)
                    var locked = false
                    for try await value in rows.decode(Bool.self) { locked = value }
                    if locked {
                        // This connection only runs the bridge's own statements. Its batch read must
                        // walk the partial index in id order; right after a bulk load the planner's
                        // stale estimates pick a bitmap scan plus a sort of every unpublished row
                        // (measured: 265 ms per 1,000-row batch on a 200,000-row backlog).
                        try await connection.checkedQuery("SET enable_bitmapscan = off", logger: logger)
                        try await connection.checkedQuery("SET enable_seqscan = off", logger: logger)
                        let store = PostgresCheckpointStore(connection: connection, logger: logger)
                        let checkpoint = try await store.load(transport: transportName)
                        return PostgresChangeSession(
                            connection: connection, store: store, transportName: transportName,
                            checkpoint: checkpoint?.cursor, logger: logger)
                    }
                    if !announcedStandby {
                        logger.info("another bridge is the leader, standing by")
                        announcedStandby = true
                    }
                    try await Task.sleep(for: standbyInterval)
                }
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: 3, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: ChangeLogSchema.notifyChannel) { notifications in
                    signal()  // changes may have arrived while not listening
                    for try await _ in notifications { signal() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("change notifications interrupted", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        let logger = Logger(label: "fraiseql.bridge.lag")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 4, logger: logger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.checkedQuery(
            """
            SELECT count(*)::int8, COALESCE(extract(epoch FROM now() - min(occurred_at)), 0)::float8
              FROM fraiseql_observer.change_log WHERE published_at IS NULL
            """, logger: logger)
        for try await (count, age) in rows.decode((Int64, Double).self) { return (count, age) }
        return (0, 0)
    }

    /// Whether PostgreSQL answers (for `/health/ready`).
    public func isReachable() async -> Bool {
        let logger = Logger(label: "fraiseql.bridge.health")
        guard
            let connection = try? await PostgresConnection.connect(configuration: configuration, id: 5, logger: logger)
        else { return false }
        defer { Task { try? await connection.close() } }
        return (try? await connection.checkedQuery("SELECT 1", logger: logger).collect().count) == 1
    }
}

struct MalformedRow: Error, CustomStringConvertible {
    var row: String
    var description: String { "malformed change-log row: \(row.prefix(200))" }
}

struct LeadershipLost: Error, CustomStringConvertible {
    var description: String
}

/// The leader's session: one connection that holds the advisory lock and does all the work.
final class PostgresChangeSession: ChangeSession, @unchecked Sendable {
    // @unchecked Sendable: `checkpoint` is only touched by the single bridge loop that owns the
    // session (the engine never calls a session concurrently); the connection is Sendable.
    let connection: PostgresConnection
    let store: PostgresCheckpointStore
    let transportName: String
    var checkpoint: Int64?
    let logger: Logger
    /// Keyset position of the current sweep over unpublished rows. A sweep restarts from the
    /// beginning when it reaches the end or after `sweepRestart`, which is how rows of
    /// transactions that committed late with a lower id are found.
    var sweepAfter: Int64 = 0
    var sweepStarted = ContinuousClock.now
    let sweepRestart: Duration = .seconds(1)

    init(
        connection: PostgresConnection, store: PostgresCheckpointStore, transportName: String, checkpoint: Int64?,
        logger: Logger
    ) {
        self.connection = connection
        self.store = store
        self.transportName = transportName
        self.checkpoint = checkpoint
        self.logger = logger
    }

    func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord] {
        switch mode {
        case .next: break
        case .restart:
            sweepAfter = 0
            sweepStarted = ContinuousClock.now
        case .prefetch:
            // The rows returned last are not marked yet: a restart now would read them again.
            guard sweepAfter > 0 else { return [] }
        }
        let queryStart = ContinuousClock.now
        // Unpublished rows in id order, not `id > cursor`: a transaction that took a lower id and
        // committed later is still found (see `sweepAfter`). The batch comes back as one JSON
        // array in one row: streaming 1,000 rows through the row decoder cost ~100 µs per row.
        let rows = try await connection.checkedQuery(
            """
            SELECT json_agg(json_build_array(id, event_id, entity_type, entity_id, operation, before, after, changes,
                                             tenant_id, (extract(epoch FROM occurred_at) * 1000000)::int8)
                            ORDER BY id)::text
              FROM (SELECT * FROM fraiseql_observer.change_log
                     WHERE published_at IS NULL AND id > \(sweepAfter)
                     ORDER BY id
                     LIMIT \(limit)) AS batch
            """, logger: logger)
        var text: String?
        for try await value in rows.decode(String?.self) { text = value }
        let queryTime = ContinuousClock.now - queryStart
        var records: [ChangeRecord] = []
        if let text {
            guard case .array(let items) = try FastJSON.parse(text) else { throw FastJSON.ParseError(offset: 0) }
            records.reserveCapacity(items.count)
            for item in items { records.append(try record(item)) }
        }
        logger.trace(
            "batch read",
            metadata: [
                "bridge.query": "\(queryTime)", "bridge.decode": "\(ContinuousClock.now - queryStart - queryTime)",
            ])
        if mode == .prefetch {
            sweepAfter = records.last?.event.cursor ?? sweepAfter
        } else if records.count < limit || ContinuousClock.now - sweepStarted > sweepRestart {
            sweepAfter = 0
            sweepStarted = ContinuousClock.now
        } else {
            sweepAfter = records.last?.event.cursor ?? 0
        }
        return records
    }

    /// One row of the batch array: `[id, event_id, entity_type, entity_id, operation, before, after,
    /// changes, tenant_id, occurred_at_us]`.
    private func record(_ item: JSONValue) throws -> ChangeRecord {
        guard case .array(let columns) = item, columns.count == 10, case .int(let id) = columns[0],
            let eventID = columns[1].stringValue.flatMap(UUID.init(uuidString:)),
            let entityType = columns[2].stringValue, let entityID = columns[3].stringValue,
            let operation = columns[4].stringValue.flatMap(Operation.init(rawValue:)),
            case .int(let micros) = columns[9]
        else { throw MalformedRow(row: "\(item)") }
        let changes = columns[7].objectValue?.mapValues { value in
            FieldChange(old: value.objectValue?["old"] ?? .null, new: value.objectValue?["new"] ?? .null)
        }
        return ChangeRecord(
            event: EntityEvent(
                id: eventID, cursor: id, source: transportName, entityType: entityType, entityId: entityID,
                operation: operation, before: columns[5].objectValue, after: columns[6].objectValue, changes: changes,
                tenantId: columns[8].stringValue, occurredAt: Timestamp(microsecondsSinceEpoch: micros)))
    }

    func markPublished(cursors: [Int64], checkpoint newCursor: Int64) async throws {
        try await connection.checkedQuery(
            """
            UPDATE fraiseql_observer.change_log SET published_at = now()
             WHERE id = ANY(\(cursors)) AND published_at IS NULL
            """, logger: logger)
        let target = max(checkpoint ?? newCursor, newCursor)
        if target != checkpoint {
            // Fencing: if another bridge moved the checkpoint, this one is no longer the leader.
            guard
                try await store.compareAndSwap(
                    expected: checkpoint, new: Checkpoint(transport: transportName, cursor: target))
            else { throw LeadershipLost(description: "the checkpoint was moved by another bridge") }
            checkpoint = target
        }
    }

    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let rows = try await connection.checkedQuery(
            """
            DELETE FROM fraiseql_observer.change_log WHERE id IN (
                SELECT id FROM fraiseql_observer.change_log
                 WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => \(seconds))
                 LIMIT \(limit)) RETURNING 1
            """, logger: logger)
        return try await rows.collect().count
    }

    func close() async {
        try? await connection.close()
    }
}
public typealias PostgresConnectionConfiguration = PostgresConnection.Configuration

/// A query sent on a connection PostgreSQL has already closed.
public struct PostgresConnectionClosed: Error, CustomStringConvertible {
    public var description: String { "the PostgreSQL connection is closed (server restarted or connection lost)" }
}

extension PostgresConnection {
    /// `query`, failing at once when the connection is already closed. PostgresNIO never
    /// completes a query written to a connection that PostgreSQL closed while it sat idle (a
    /// restart with `pg_ctl stop -m fast`): the caller would wait forever, as the bridge did in
    /// the postgres-restart end-to-end scenario. Every long-lived connection of the fleet queries
    /// through this.
    @discardableResult
    public func checkedQuery(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosed() }
        return try await self.query(query, logger: logger, file: file, line: line)
    }
}
