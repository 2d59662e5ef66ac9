import BridgeEngine
import Contracts
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Runtime
import Synchronization

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
    /// - Parameter additional: statements applied after the change log's, in the same transaction
    ///   (the observer-worker's own tables, from `fraiseql-observer install`).
    ///   - allowSuperuser: install even when connected as a superuser (refused otherwise: the
    ///     fleet's role needs no such power, and a superuser install hides missing grants).
    ///   - captureRole: the NOLOGIN role that owns the trigger function (`bridge.capture_role`).
    public static func install(
        configuration: PostgresConnection.Configuration, tables: [Runtime.BridgeConfiguration.Table],
        additional: [String] = [], allowSuperuser: Bool = false,
        captureRole: String = Runtime.BridgeConfiguration.defaultCaptureRole, logger: Logger
    ) async throws {
        let statements = try ChangeLogSchema.statements(for: tables, captureRole: captureRole) + additional
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await checkRoles(connection, allowSuperuser: allowSuperuser, captureRole: captureRole, logger: logger)
        // A table or column that is not there would install a trigger that captures nothing
        // useful (a missing id column: every change with an empty entity_id).
        let problems = try await CapturedTables.check(tables, connection: connection, logger: logger)
        if !problems.isEmpty {
            throw ChangeLogSchema.InstallError(
                description: problems.map(\.description).joined(separator: "; "), key: problems[0].key)
        }
        try await connection.checkedQuery("BEGIN", logger: logger)
        do {
            // Serialise concurrent installs (CREATE OR REPLACE FUNCTION races otherwise).
            try await connection.checkedQuery(
                "SELECT pg_advisory_xact_lock(hashtext('fraiseql_observer.install'))", logger: logger)
            for statement in statements {
                try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger, timeout: nil)
            }
            try await connection.checkedQuery("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension ChangeLogInstaller {
    /// Refuses a superuser installer (unless allowed) and a capture role that could log in or
    /// holds more than its grants.
    static func checkRoles(
        _ connection: PostgresConnection, allowSuperuser: Bool, captureRole: String, logger: Logger
    ) async throws {
        let installer = try await connection.query(
            "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
            logger: logger)
        for try await (name, isSuperuser) in installer.decode((String, Bool).self) where isSuperuser && !allowSuperuser
        {
            throw ChangeLogSchema.InstallError(
                description:
                    "refusing to install as the superuser '\(name)': connect as the fleet's own role (docs/deployment.md lists its grants), or pass --allow-superuser"
            )
        }
        let capture = try await connection.query(
            """
            SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
              FROM pg_catalog.pg_roles WHERE rolname = \(captureRole)
            """, logger: logger)
        for try await (login, superuser, bypassRLS, createRole, createDB) in capture.decode(
            (Bool, Bool, Bool, Bool, Bool).self)
        where login || superuser || bypassRLS || createRole || createDB {
            throw ChangeLogSchema.InstallError(
                description:
                    "bridge.capture_role: the role '\(captureRole)' must be NOLOGIN without SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB: the trigger function runs with its rights",
                key: "bridge.capture_role")
        }
    }

    /// The `install [--print]` command shared by `pg-bridge` and `fraiseql-observer`: prints the
    /// DDL or applies it, reports on stdout/stderr, and returns the exit code (0; 1 when
    /// PostgreSQL refuses; 2 for a configuration problem).
    public static func command(
        configuration: FleetConfiguration, printOnly: Bool, name: String, additional: [String] = [],
        allowSuperuser: Bool = false
    ) async -> Int32 {
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
            return code
        }
        do {
            if printOnly {
                print(
                    try ChangeLogSchema.script(
                        for: configuration.bridge.tables, captureRole: configuration.bridge.captureRole),
                    terminator: "")
                for statement in additional { print("\n" + statement + ";") }
                return 0
            }
            guard let url = configuration.postgres.url else {
                return fail("configuration error: postgres.url is required", ServiceMain.configurationExitCode)
            }
            try await install(
                configuration: try PostgresURL.configuration(url.value), tables: configuration.bridge.tables,
                additional: additional, allowSuperuser: allowSuperuser, captureRole: configuration.bridge.captureRole,
                logger: Logger(label: "fraiseql.\(name).install"))
            print(
                "installed fraiseql_observer change log and \(configuration.bridge.tables.count) trigger(s)"
                    + (additional.isEmpty ? "" : ", and the observer-worker's tables"))
            return 0
        } catch let error as ChangeLogSchema.InstallError {
            return fail(
                error.key == nil ? "install: \(error.description)" : "configuration error: \(error.description)",
                ServiceMain.configurationExitCode)
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
    /// The captured tables, for the drift check.
    let tables: [Runtime.BridgeConfiguration.Table]

    public init(
        configuration: PostgresConnection.Configuration, transportName: String,
        standbyInterval: Duration = .milliseconds(500), tables: [Runtime.BridgeConfiguration.Table] = []
    ) {
        self.tables = tables
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
                        // walk the pending ids in order and join each to its change-log row; right
                        // after a bulk load the planner's stale estimates pick a bitmap scan plus a
                        // sort of every unpublished row (measured: 265 ms per 1,000-row batch on a
                        // 200,000-row backlog), or a hash join over the whole change log.
                        for setting in ["enable_bitmapscan", "enable_seqscan", "enable_hashjoin"] {
                            try await connection.checkedQuery(
                                PostgresQuery(unsafeSQL: "SET \(setting) = off"), logger: logger)
                        }
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
        return try await ChangeLogBacklog.measure(connection, logger: logger)
    }

    /// The configured tables' problems in the database now (see ``CapturedTables``).
    public func drift() async throws -> [String] {
        guard !tables.isEmpty else { return [] }
        let logger = Logger(label: "fraiseql.bridge.drift")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 6, logger: logger)
        defer { Task { try? await connection.close() } }
        return try await CapturedTables.check(tables, connection: connection, logger: logger).map(\.description)
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
final class PostgresChangeSession: ChangeSession {
    let connection: PostgresConnection
    let store: PostgresCheckpointStore
    let transportName: String
    let logger: Logger
    /// The event's `source`, as JSON.
    let quotedSource: [UInt8]
    let sweepRestart: Duration = .seconds(1)

    private struct Sweep {
        /// Keyset position of the current sweep over unpublished rows. A sweep restarts from the
        /// beginning when it reaches the end or after `sweepRestart`.
        var after: Int64 = 0
        var started = ContinuousClock.now
        /// The transactions in progress when the last batch was read (`pg_snapshot_xip`, comma
        /// separated). A row with an id at or below `after` that appears later belongs to one of
        /// them (a transaction that starts later takes a higher id): the next read takes those
        /// rows first, so a writer's later row never overtakes one of its earlier rows.
        var inProgress = ""
    }

    // A read and a mark may run at the same time (see `ChangeSession`); each touches its own state.
    private let sweep = Mutex(Sweep())
    private let checkpoint: Mutex<Int64?>

    init(
        connection: PostgresConnection, store: PostgresCheckpointStore, transportName: String, checkpoint: Int64?,
        logger: Logger
    ) {
        self.connection = connection
        self.store = store
        self.transportName = transportName
        self.checkpoint = Mutex(checkpoint)
        self.logger = logger
        self.quotedSource = Array(FastJSON.quoted(transportName).utf8)
    }

    func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord] {
        let position = sweep.withLock { sweep -> (after: Int64, inProgress: String)? in
            let restartDue = ContinuousClock.now - sweep.started > sweepRestart
            switch mode {
            case .next: if restartDue { sweep = Sweep() }
            case .restart: sweep = Sweep()
            case .prefetch:
                // The rows returned last are not marked yet: a restart now would read them again.
                // Returning nothing makes the engine wait for the marks and read with `.next`, so
                // a long backlog drain still restarts its sweep every `sweepRestart`.
                guard sweep.after > 0, !restartDue else { return nil }
            }
            return (sweep.after, sweep.inProgress)
        }
        guard let (after, inProgress) = position else { return [] }
        let queryStart = ContinuousClock.now
        // Unpublished rows in id order, not `id > cursor`: a transaction that took a lower id and
        // committed later is still found (see `Sweep`). The batch comes back as one text value,
        // one line per row (streaming rows through the row decoder cost ~100 µs per row): the
        // fields the engine needs, then the JSON parts of the event, which are copied into the
        // payload without being parsed. Tabs and newlines cannot occur inside the fields: the
        // strings are JSON-escaped and `jsonb` text escapes control characters.
        // The join walks both primary keys in order (a merge join); the change log's side starts
        // at the first pending id, or it would walk every published row before it on each sweep
        // restart (measured: capture→stored p50 went from 4 to 28 ms under live load).
        // The first line is the snapshot's transactions in progress; then come the late rows of
        // the transactions in progress at the last read (no limit: at most the rows of the
        // transactions that were open then; planned away when there were none), then up to
        // `limit` rows after the sweep's position.
        let rows = try await connection.checkedQuery(
            """
            SELECT COALESCE((SELECT string_agg(x::text, ',') FROM pg_snapshot_xip(pg_current_snapshot()) AS x), '')
                   || E'\n' ||
                   COALESCE(string_agg(concat_ws(E'\t', id, event_id, operation,
                                        (extract(epoch FROM occurred_at) * 1000000)::int8,
                                        to_json(entity_type), to_json(entity_id),
                                        COALESCE(to_json(tenant_id)::text, 'null'), COALESCE(before::text, 'null'),
                                        COALESCE(after::text, 'null'), COALESCE(changes::text, 'null')),
                              E'\n' ORDER BY id), '')
              FROM (SELECT c.* FROM fraiseql_observer.change_log_pending p
                      JOIN fraiseql_observer.change_log c ON c.id = p.id
                     WHERE \(inProgress) <> '' AND p.id <= \(after)
                       AND c.txid = ANY(string_to_array(\(inProgress), ',')::xid8[])
                    UNION ALL
                    (SELECT c.* FROM fraiseql_observer.change_log_pending p
                       JOIN fraiseql_observer.change_log c ON c.id = p.id
                      WHERE p.id > \(after)
                        AND c.id >= (SELECT min(id) FROM fraiseql_observer.change_log_pending WHERE id > \(after))
                      ORDER BY p.id
                      LIMIT \(limit))) AS batch
            """, logger: logger)
        var text: String?
        for try await value in rows.decode(String?.self) { text = value }
        let queryTime = ContinuousClock.now - queryStart
        var records: [ChangeRecord] = []
        var nowInProgress = ""
        if var text {
            records.reserveCapacity(limit)
            try text.withUTF8 { bytes in
                var lineStart = 0
                while lineStart < bytes.count, bytes[lineStart] != UInt8(ascii: "\n") { lineStart += 1 }
                nowInProgress = String(decoding: bytes[0..<lineStart], as: UTF8.self)
                lineStart += 1
                while lineStart < bytes.count {
                    var lineEnd = lineStart
                    while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                    records.append(try record(UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])))
                    lineStart = lineEnd + 1
                }
            }
        }
        logger.trace(
            "batch read",
            metadata: [
                "bridge.query": "\(queryTime)", "bridge.decode": "\(ContinuousClock.now - queryStart - queryTime)",
            ])
        sweep.withLock { sweep in
            // Late rows come first (ids at or below `after`); the sweep moves on by the others.
            let forward = records.reduce(0) { $0 + ($1.cursor > after ? 1 : 0) }
            let reached = max(after, records.last?.cursor ?? after)
            if mode != .prefetch, forward < limit {
                sweep = Sweep()
            } else {
                sweep.after = reached
            }
            sweep.inProgress = nowInProgress
        }
        return records
    }

    /// One line of the batch: `id, event_id, operation, occurred_at µs, entity_type, entity_id,
    /// tenant_id, before, after, changes`, tab-separated; the last six are JSON. The payload is
    /// the wire encoding of ``EntityEvent``: sorted keys, absent fields omitted; `before`,
    /// `after` and `changes` keep PostgreSQL's key order and exact numbers.
    private func record(_ line: UnsafeBufferPointer<UInt8>) throws -> ChangeRecord {
        var fields: [UnsafeBufferPointer<UInt8>] = []
        fields.reserveCapacity(10)
        var start = 0
        for index in 0..<line.count where line[index] == UInt8(ascii: "\t") {
            fields.append(UnsafeBufferPointer(rebasing: line[start..<index]))
            start = index + 1
        }
        fields.append(UnsafeBufferPointer(rebasing: line[start...]))
        func malformed() -> MalformedRow { MalformedRow(row: String(decoding: line, as: UTF8.self)) }
        guard fields.count == 10, case .int(let id)? = try? FastJSON.parse(fields[0]), fields[1].count == 36,
            let operation = Operation(rawValue: String(decoding: fields[2], as: UTF8.self)),
            case .int(let micros)? = try? FastJSON.parse(fields[3]),
            case .string(let entityType)? = try? FastJSON.parse(fields[4])
        else { throw malformed() }
        func isNull(_ field: UnsafeBufferPointer<UInt8>) -> Bool { field.elementsEqual("null".utf8) }
        var payload: [UInt8] = []
        payload.reserveCapacity(line.count + 160)
        payload.append(UInt8(ascii: "{"))
        func object(_ key: String, _ field: UnsafeBufferPointer<UInt8>) {
            guard !isNull(field) else { return }
            payload.append(contentsOf: key.utf8)
            FastJSON.appendCompact(field, to: &payload)
            payload.append(UInt8(ascii: ","))
        }
        object("\"after\":", fields[8])
        object("\"before\":", fields[7])
        object("\"changes\":", fields[9])
        payload.append(contentsOf: "\"cursor\":".utf8)
        payload.append(contentsOf: fields[0])
        payload.append(contentsOf: ",\"entity_id\":".utf8)
        payload.append(contentsOf: fields[5])
        payload.append(contentsOf: ",\"entity_type\":".utf8)
        payload.append(contentsOf: fields[4])
        payload.append(contentsOf: ",\"id\":\"".utf8)
        payload.append(contentsOf: fields[1])
        payload.append(contentsOf: "\",\"occurred_at\":\"".utf8)
        Timestamp(microsecondsSinceEpoch: micros).appendRFC3339(to: &payload)
        payload.append(contentsOf: "\",\"operation\":\"".utf8)
        payload.append(contentsOf: fields[2])
        payload.append(contentsOf: "\",\"schema_version\":\(WireFormat.entityEventSchemaVersion),\"source\":".utf8)
        payload.append(contentsOf: quotedSource)
        if !isNull(fields[6]) {
            payload.append(contentsOf: ",\"tenant_id\":".utf8)
            payload.append(contentsOf: fields[6])
        }
        payload.append(UInt8(ascii: "}"))
        return ChangeRecord(
            eventID: String(decoding: fields[1], as: UTF8.self), cursor: id, source: transportName,
            entityType: entityType, operation: operation, payload: payload)
    }

    func setAside(_ changes: [SetAsideChange]) async throws {
        try await BridgeDeadLetters.record(changes, transport: transportName, connection: connection, logger: logger)
    }

    /// Marks the rows and moves the checkpoint in one statement (one round trip, one commit).
    func markPublished(cursors: [Int64], checkpoint newCursor: Int64) async throws {
        let current = checkpoint.withLock { $0 }
        let target = max(current ?? newCursor, newCursor)
        if let current, target != current {
            // Fencing: if another bridge moved the checkpoint, this one is no longer the leader.
            let rows = try await connection.checkedQuery(
                """
                WITH marked AS (DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(cursors)))
                UPDATE fraiseql_observer.checkpoints SET cursor = \(target), updated_at = now()
                 WHERE transport = \(transportName) AND cursor = \(current) RETURNING 1
                """, logger: logger)
            guard try await rows.collect().count == 1 else {
                throw LeadershipLost(description: "the checkpoint was moved by another bridge")
            }
        } else {
            try await connection.checkedQuery(
                "DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(cursors))", logger: logger)
            if current == nil {
                guard
                    try await store.compareAndSwap(
                        expected: nil, new: Checkpoint(transport: transportName, cursor: target))
                else { throw LeadershipLost(description: "the checkpoint was moved by another bridge") }
            }
        }
        checkpoint.withLock { $0 = target }
    }

    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int {
        try await ChangeLogRetention.purge(connection, olderThan: age, limit: limit, logger: logger)
    }

    func close() async {
        try? await connection.close()
    }
}
/// The change-log rows not yet handled (published by pg-bridge, or settled by the `postgres`
/// observer transport): pg-bridge's lag gauges and `fraiseql-observer status`.
public enum ChangeLogBacklog {
    /// How many rows are pending, and the capture age in seconds of the oldest (0 when none).
    public static func measure(_ connection: PostgresConnection, logger: Logger) async throws
        -> (rows: Int64, oldestAgeSeconds: Double)
    {
        let rows = try await connection.checkedQuery(
            """
            SELECT (SELECT count(*) FROM fraiseql_observer.change_log_pending)::int8,
                   COALESCE((SELECT extract(epoch FROM now() - occurred_at) FROM fraiseql_observer.change_log
                              WHERE id = (SELECT min(id) FROM fraiseql_observer.change_log_pending)), 0)::float8
            """, logger: logger)
        for try await (count, age) in rows.decode((Int64, Double).self) { return (count, age) }
        return (0, 0)
    }
}

/// Retention of the change log, shared by pg-bridge (rows it published) and the observer-worker's
/// `postgres` transport (rows its workers settled): a row whose id is no longer in
/// `change_log_pending` is done with.
public enum ChangeLogRetention {
    /// The key (`pg_advisory_xact_lock(hashtext(…))`) that the `postgres` observer transport's
    /// purge takes, so that one worker at a time purges, and that a dead-letter replay takes, so
    /// that a purge never deletes the change-log row a replay is putting back.
    public static let observerLock = "fraiseql_observer.observer_retention"

    /// Deletes up to `limit` settled rows captured (`occurred_at`) longer ago than `age`; returns
    /// how many. Rows are taken from the head of the log in id order (ids grow with capture time),
    /// at most ten times `limit` of them per call: a purge of a log with nothing old costs one short
    /// index scan, with no index on the capture time for the writers to maintain.
    public static func purge(_ connection: PostgresConnection, olderThan age: Duration, limit: Int, logger: Logger)
        async throws -> Int
    {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let rows = try await connection.checkedQuery(
            """
            DELETE FROM fraiseql_observer.change_log WHERE id IN (
                SELECT head.id FROM (SELECT id, occurred_at FROM fraiseql_observer.change_log
                                      ORDER BY id LIMIT \(limit * 10)) AS head
                 WHERE head.occurred_at < now() - make_interval(secs => \(seconds))
                   AND NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log_pending p WHERE p.id = head.id)
                 LIMIT \(limit)) RETURNING 1
            """, logger: logger)
        return try await rows.collect().count
    }
}

public typealias PostgresConnectionConfiguration = PostgresConnection.Configuration

/// A query sent on a connection PostgreSQL has already closed.
public struct PostgresConnectionClosed: Error, CustomStringConvertible {
    public var description: String { "the PostgreSQL connection is closed (server restarted or connection lost)" }
}

extension PostgresConnection {
    /// `query`, failing at once when the connection is already closed, and closing the connection
    /// (which fails the query) when no answer has come within `timeout`. PostgresNIO never
    /// completes a query written to a connection that PostgreSQL closed while it sat idle (a
    /// restart with `pg_ctl stop -m fast`): the caller would wait forever, as the bridge did in
    /// the postgres-restart end-to-end scenario; the check covers a connection closed before the
    /// query, the timeout one closed while it is being sent. Every long-lived connection of the
    /// fleet queries through this; `timeout: nil` (install's DDL) waits as long as it takes.
    @discardableResult
    public func checkedQuery(
        _ query: PostgresQuery, logger: Logger, timeout: Duration? = .seconds(60), file: String = #fileID,
        line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosed() }
        guard let timeout else { return try await self.query(query, logger: logger, file: file, line: line) }
        let watchdog = Task { [self] in
            try await Task.sleep(for: timeout)
            logger.warning(
                "no answer from PostgreSQL, closing the connection", metadata: ["postgres.timeout": "\(timeout)"])
            try? await close()
        }
        defer { watchdog.cancel() }
        return try await self.query(query, logger: logger, file: file, line: line)
    }
}
