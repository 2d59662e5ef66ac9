import BridgeEngine
import Contracts
import Foundation
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Runtime
import Synchronization
import Testing

/// A database of its own for each test (the change log is per database).
struct TestDatabase {
    let url: String
    let configuration: PostgresConnection.Configuration

    static func create() async throws -> TestDatabase {
        let base = try Stack.url("POSTGRES_URL")
        let name = Stack.unique("t")
        let logger = Logger(label: "tests")
        let admin = try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(base), id: 1, logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        try await admin.close()
        var components = URLComponents(string: base)!
        components.path = "/\(name)"
        let url = components.string!
        return TestDatabase(url: url, configuration: try PostgresURL.configuration(url))
    }

    func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: configuration, id: Int.random(in: 1...1_000_000), logger: Logger(label: "tests"))
    }

    func execute(_ sql: String) async throws {
        let connection = try await connect()
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "tests"))
        } catch {
            try? await connection.close()
            Issue.record("\(sql): \(String(reflecting: error))")
            throw error
        }
        try await connection.close()
    }

    /// The text a query answers (its last row's first column; empty when no row).
    func text(_ sql: String) async throws -> String {
        let connection = try await connect()
        defer { Task { try? await connection.close() } }
        var result = ""
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "tests"))
            .decode(String.self)
        {
            result = value
        }
        return result
    }

    /// The integer a query answers (its last row's first column; 0 when no row).
    func count(_ sql: String) async throws -> Int {
        let connection = try await connect()
        defer { Task { try? await connection.close() } }
        var result = 0
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "tests"))
            .decode(Int.self)
        {
            result = value
        }
        return result
    }
}

/// Reads every message of a subject prefix from the start (ordered consumer).
func readStream(_ jetStream: JetStream, subject: String, expected: Int, timeout: Duration = .seconds(30)) async throws
    -> [JetStreamMessage]
{
    let subscription = try jetStream.orderedSubscribe(subject: subject, start: .all)
    defer { subscription.unsubscribe() }
    var messages: [JetStreamMessage] = []
    let clock = ContinuousClock()
    let start = clock.now
    while messages.count < expected, clock.now - start < timeout {
        if let message = try await subscription.next(timeout: .milliseconds(500)) { messages.append(message) }
    }
    // Anything beyond the expected count (a duplicate) would arrive now.
    while let extra = try await subscription.next(timeout: .milliseconds(300)) { messages.append(extra) }
    return messages
}

func waitForCount(_ jetStream: JetStream, stream: String, atLeast count: UInt64, timeout: Duration = .seconds(60))
    async throws
    -> UInt64
{
    let clock = ContinuousClock()
    let start = clock.now
    var messages: UInt64 = 0
    while clock.now - start < timeout {
        messages = (try? await jetStream.streamInfo(stream).messages) ?? messages
        if messages >= count { return messages }
        try await Task.sleep(for: .milliseconds(100))
    }
    return messages
}

/// The bridge running in-process, stopped by cancellation.
/// `text` as an SQL string literal.
func literal(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

func withBridge<T>(
    database: TestDatabase, jetStream: JetStream, prefix: String, transport: String = "pg-test",
    retention: Duration? = nil, pollInterval: Duration = .milliseconds(200), oversized: OversizedPolicy = .deadLetter,
    _ body: () async throws -> T
) async throws -> T {
    let bridge = BridgeService(
        source: PostgresChangeSource(configuration: database.configuration, transportName: transport),
        publisher: jetStream,
        configuration: BridgeSettings(
            transportName: transport, subjectNamer: try SubjectNamer(prefix: prefix), batchSize: 200,
            pollInterval: pollInterval, publishTimeout: .seconds(3), retention: retention, oversized: oversized),
        logger: Logger(label: "tests.bridge"))
    let task = Task { try await bridge.run() }
    defer { task.cancel() }
    return try await body()
}

@Suite("pg-bridge", .serialized)
struct PGBridgeTests {
    static let tables = [
        BridgeConfiguration.Table(table: "public.orders", entity: "order", excludeColumns: ["secret"]),
        BridgeConfiguration.Table(table: "public.customers", entity: "Customer", tenantColumn: "tenant"),
    ]

    func setUp() async throws -> (TestDatabase, JetStream, stream: String, prefix: String) {
        let database = try await TestDatabase.create()
        try await database.execute(
            "CREATE TABLE orders (id serial PRIMARY KEY, status text, total numeric, secret text, writer int, seq int)")
        try await database.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, tenant text)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration, tables: Self.tables, allowSuperuser: true,
            logger: Logger(label: "tests"))
        // Re-running the install is safe.
        try await ChangeLogInstaller.install(
            configuration: database.configuration, tables: Self.tables, allowSuperuser: true,
            logger: Logger(label: "tests"))
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        return (database, jetStream, stream, prefix)
    }

    @Test("inserts, updates and deletes on two tables arrive with the documented JSON and headers")
    func events() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            try await database.execute("INSERT INTO orders (status, total, secret) VALUES ('pending', 99.5, 'hunter2')")
            try await database.execute("UPDATE orders SET status = 'paid' WHERE id = 1")
            try await database.execute("UPDATE orders SET status = 'paid' WHERE id = 1")  // no visible change: no event
            try await database.execute("DELETE FROM orders WHERE id = 1")
            try await database.execute("INSERT INTO customers VALUES (7, 'Ada', 'tenant-a')")
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 4)
            try #require(messages.count == 4, "got \(messages.count) messages")
            #expect(
                messages.map(\.subject) == [
                    "\(prefix).order.insert", "\(prefix).order.update", "\(prefix).order.delete",
                    "\(prefix).customer.insert",
                ])
            let events = try messages.map { try WireFormat.decode(EntityEvent.self, from: $0.payload) }
            for (message, event) in zip(messages, events) {
                #expect(message.header("Nats-Msg-Id") == event.id.uuidString.lowercased())
                #expect(message.header("Fraiseql-Source") == "pg-test")
                #expect(message.header("Fraiseql-Cursor") == String(event.cursor))
                #expect(event.source == "pg-test")
                #expect(event.schemaVersion == 1)
            }
            #expect(events[0].after?["status"] == "pending")
            #expect(events[0].after?["total"] == .double(99.5))
            #expect(events[0].after?["secret"] == nil, "excluded column leaked")
            #expect(events[0].before == nil)
            #expect(events[0].entityId == "1")
            #expect(events[1].before?["status"] == "pending")
            #expect(events[1].after?["status"] == "paid")
            #expect(events[1].changes == ["status": FieldChange(old: "pending", new: "paid")])
            #expect(events[2].before?["status"] == "paid")
            #expect(events[2].after == nil)
            #expect(events[3].entityType == "customer")  // the entity token, lower-cased at install
            #expect(events[3].tenantId == "tenant-a")
            #expect(Set(events.map(\.id)).count == 4)
            #expect(events.map(\.cursor) == events.map(\.cursor).sorted())
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("awkward values arrive exactly: control characters, quotes, Unicode, nested JSON, 30-digit numbers")
    func awkwardValues() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        try await database.execute("CREATE TABLE notes (key text PRIMARY KEY, body text, amount numeric, doc jsonb)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: Self.tables + [
                BridgeConfiguration.Table(table: "public.notes", entity: "note", idColumn: "key")
            ],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let key = "k\t\"1\"\n\\ é"
        let body = "tab\there, newline\nthere, quote \" backslash \\ slash / café 🚀 \u{1}"
        try await database.execute(
            """
            INSERT INTO notes VALUES (\(literal(key)), \(literal(body)), 123456789012345678901234567890.125,
                                      '{"z": [1, 2.50, {"a b": "c\\td"}], "a": null, "m": "x: y, z"}')
            """)
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 1)
            let message = try #require(messages.first)
            let event = try WireFormat.decode(EntityEvent.self, from: message.payload)
            #expect(event.entityId == key)
            #expect(event.after?["key"] == .string(key))
            #expect(event.after?["body"] == .string(body))
            #expect(
                event.after?["doc"]
                    == .object([
                        "z": .array([1, 2.5, .object(["a b": "c\td"])]), "a": .null, "m": "x: y, z",
                    ]))
            let text = String(decoding: message.payload, as: UTF8.self)
            // Numbers keep PostgreSQL's exact decimal text (no rounding through a double).
            #expect(text.contains("\"amount\":123456789012345678901234567890.125"))
            #expect(text.contains("2.50"))
            // Compact outside strings; the envelope's keys sorted as WireFormat writes them.
            #expect(!text.replacingOccurrences(of: "x: y, z", with: "").contains(": "))
            let envelope = try #require(try FastJSON.parse(text).objectValue)
            #expect(envelope["before"] == nil && envelope["changes"] == nil && envelope["tenant_id"] == nil)
            let keys = [
                "after", "cursor", "entity_id", "entity_type", "id", "occurred_at", "operation", "schema_version",
                "source",
            ]
            #expect(Set(envelope.keys) == Set(keys))
            let positions = try keys.map { try #require(text.range(of: "\"\($0)\":")).lowerBound }
            #expect(positions == positions.sorted())
            #expect(Timestamp(rfc3339: envelope["occurred_at"]?.stringValue ?? "") == event.occurredAt)
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("a transaction that took a lower id and commits later is still published, exactly once")
    func commitOrder() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            let logger = Logger(label: "tests")
            let long = try await database.connect()
            try await long.query("BEGIN", logger: logger)
            try await long.query("INSERT INTO orders (status) VALUES ('slow')", logger: logger)  // takes the lower id
            try await database.execute("INSERT INTO orders (status) VALUES ('fast')")
            #expect(try await waitForCount(jetStream, stream: stream, atLeast: 1) == 1)
            try await long.query("COMMIT", logger: logger)
            try await long.close()
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 2)
            let events = try messages.map { try WireFormat.decode(EntityEvent.self, from: $0.payload) }
            #expect(events.map { $0.after?["status"] } == ["fast", "slow"])
            #expect(events[1].cursor < events[0].cursor, "the slow row should hold the lower id")
            #expect(events.count == 2)
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("a writer's row that commits after the sweep passed its id is read before the writer's next row")
    func lateRowKeepsWriterOrder() async throws {
        let (database, _, _, _) = try await setUp()
        let logger = Logger(label: "tests")
        // Writer 1 takes the lowest id in a transaction that stays open; writer 2 commits 10 rows.
        let writer = try await database.connect()
        try await writer.query("BEGIN", logger: logger)
        try await writer.query("INSERT INTO orders (status, writer, seq) VALUES ('first', 1, 1)", logger: logger)
        try await database.execute(
            "INSERT INTO orders (status, writer, seq) SELECT 'other', 2, g FROM generate_series(1, 10) AS g")
        let source = PostgresChangeSource(configuration: database.configuration, transportName: "pg-order")
        let session = try await source.becomeLeader(logger: logger)
        var published: [ChangeRecord<Int64>] = []
        // A full batch: the sweep moves past writer 1's invisible row.
        let first = try await session.readBatch(limit: 5, mode: .next)
        published += first
        // Writer 1 commits, then writes its next row (a higher id, after the whole backlog).
        try await writer.query("COMMIT", logger: logger)
        try await writer.query("INSERT INTO orders (status, writer, seq) VALUES ('second', 1, 2)", logger: logger)
        try await writer.close()
        // A read-ahead while the first batch is being published, then the marks and the rest.
        let second = try await session.readBatch(limit: 5, mode: .prefetch)
        published += second
        try await session.markPublished(first.map(\.position), checkpoint: first.last!.position)
        if let last = second.last {
            try await session.markPublished(second.map(\.position), checkpoint: last.position)
        }
        while true {
            let batch = try await session.readBatch(limit: 5, mode: .next)
            guard let last = batch.last else { break }
            published += batch
            try await session.markPublished(batch.map(\.position), checkpoint: last.position)
        }
        await session.close()
        let events = try published.map { try WireFormat.decode(EntityEvent.self, from: $0.payload) }
        #expect(events.count == 12)
        #expect(Set(events.map(\.id)).count == 12, "a row was read twice")
        let writerOne = events.filter { $0.after?["writer"] == 1 }.map { $0.after?["seq"] }
        #expect(writerOne == [1, 2], "writer 1's rows out of commit order: \(writerOne)")
    }

    @Test("a late-committed row is found during a long backlog drain, not only after it")
    func lateRowDuringDrain() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        let logger = Logger(label: "tests")
        let long = try await database.connect()
        try await long.query("BEGIN", logger: logger)
        try await long.query("INSERT INTO orders (status) VALUES ('late')", logger: logger)  // the lowest id
        let backlog = 40_000
        try await database.execute(
            "INSERT INTO orders (status, seq) SELECT 'backlog', g FROM generate_series(1, \(backlog)) AS g")
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            _ = try await waitForCount(jetStream, stream: stream, atLeast: 1)
            try await long.query("COMMIT", logger: logger)
            try await long.close()
            _ = try await waitForCount(jetStream, stream: stream, atLeast: UInt64(backlog + 1))
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: backlog + 1)
            try #require(messages.count == backlog + 1)
            let statuses = try messages.map {
                try WireFormat.decode(EntityEvent.self, from: $0.payload).after?["status"]
            }
            let position = try #require(statuses.firstIndex(of: "late"))
            // Sweeps restart every second even while read-aheads keep the pipeline full; before,
            // the late row waited for the end of the backlog (the last position).
            #expect(position < backlog - 200, "late row published at \(position) of \(backlog + 1)")
        }
        try await jetStream.deleteStream(stream)
    }

    /// The ids in the change log and in its pending list.
    func changeLogIDs(_ database: TestDatabase) async throws -> (all: [Int64], pending: [Int64]) {
        let connection = try await database.connect()
        defer { Task { try? await connection.close() } }
        func ids(_ table: String) async throws -> [Int64] {
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT id FROM fraiseql_observer.\(table) ORDER BY id"),
                logger: Logger(label: "tests"))
            var ids: [Int64] = []
            for try await id in rows.decode(Int64.self) { ids.append(id) }
            return ids
        }
        return (try await ids("change_log"), try await ids("change_log_pending"))
    }

    @Test(
        "retention deletes published rows captured longer ago than the configured age, in batches, never a pending one")
    func retention() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        // Rows 1-3: published an hour ago; 4-5: captured an hour ago, not published yet; 6: published, recent.
        // (Publishing a row is deleting its pending entry.)
        try await database.execute("INSERT INTO orders (status) SELECT 'old' FROM generate_series(1, 5)")
        try await database.execute("INSERT INTO orders (status) VALUES ('recent')")
        var ids = try await changeLogIDs(database)
        try #require(ids.all.count == 6 && ids.pending == ids.all)
        func backdate(_ id: Int64) async throws {
            try await database.execute(
                "UPDATE fraiseql_observer.change_log SET occurred_at = occurred_at - interval '1 hour' WHERE id = \(id)"
            )
        }
        func publish(_ id: Int64) async throws {
            try await database.execute("DELETE FROM fraiseql_observer.change_log_pending WHERE id = \(id)")
        }
        for id in ids.all[0..<5] { try await backdate(id) }
        for id in ids.all[0..<3] + [ids.all[5]] { try await publish(id) }

        // The session's purge, in batches of 2: the three old published rows, then nothing.
        let source = PostgresChangeSource(configuration: database.configuration, transportName: "pg-retention")
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        #expect(try await session.purgePublished(olderThan: .seconds(60), limit: 2) == 2)
        #expect(try await session.purgePublished(olderThan: .seconds(60), limit: 2) == 1)
        #expect(try await session.purgePublished(olderThan: .seconds(60), limit: 2) == 0)
        await session.close()
        let afterPurge = try await changeLogIDs(database)
        #expect(afterPurge.all == Array(ids.all[3...]), "old pending rows and the recent published row stay")

        // The bridge purges at start with its configured retention (a new old published row), then
        // publishes the two pending rows.
        try await database.execute("INSERT INTO orders (status) VALUES ('old, published')")
        let seventh = try #require(try await changeLogIDs(database).all.last)
        try await backdate(seventh)
        try await publish(seventh)
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix, retention: .seconds(1800)) {
            #expect(try await waitForCount(jetStream, stream: stream, atLeast: 2) == 2)
            // The rows are marked after their PubAcks.
            for _ in 0..<100 where try await !changeLogIDs(database).pending.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        ids = try await changeLogIDs(database)
        #expect(ids.pending.isEmpty)
        #expect(ids.all == afterPurge.all, "the bridge purged the seventh row and nothing else")
        try await jetStream.deleteStream(stream)
    }

    @Test("an application role with no grant on fraiseql_observer is captured (the trigger is SECURITY DEFINER)")
    func unprivilegedWriter() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        let role = Stack.unique("writer")
        try await database.execute("CREATE ROLE \(role) NOLOGIN")
        defer {
            Task {
                try? await database.execute("DROP OWNED BY \(role)")
                try? await database.execute("DROP ROLE \(role)")
            }
        }
        try await database.execute("GRANT SELECT, INSERT, UPDATE ON orders TO \(role)")
        try await database.execute("GRANT USAGE ON SEQUENCE orders_id_seq TO \(role)")
        // As the role: it cannot touch the change log itself, but its writes are captured.
        let connection = try await database.connect()
        let logger = Logger(label: "tests")
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "SET ROLE \(role)"), logger: logger)
            await #expect(throws: PSQLError.self) {
                try await connection.query("SELECT count(*) FROM fraiseql_observer.change_log", logger: logger)
            }
            try await connection.query("INSERT INTO orders (status) VALUES ('by the app')", logger: logger)
            try await connection.query("UPDATE orders SET status = 'changed by the app'", logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 2)
            #expect(messages.map(\.subject) == ["\(prefix).order.insert", "\(prefix).order.update"])
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("install upgrades a change log of the first layout (published_at): its unpublished rows stay pending")
    func upgradeFromPublishedAt() async throws {
        let database = try await TestDatabase.create()
        // The columns the configuration names (install checks them).
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text, secret text)")
        try await database.execute("CREATE SCHEMA fraiseql_observer")
        try await database.execute(
            """
            CREATE TABLE fraiseql_observer.change_log (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id UUID NOT NULL DEFAULT gen_random_uuid(), entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
                operation TEXT NOT NULL, before JSONB, after JSONB, changes JSONB, tenant_id TEXT,
                txid XID8 NOT NULL DEFAULT pg_current_xact_id(), occurred_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
                published_at TIMESTAMPTZ)
            """)
        try await database.execute(
            "CREATE INDEX change_log_unpublished ON fraiseql_observer.change_log (id) WHERE published_at IS NULL")
        try await database.execute(
            """
            INSERT INTO fraiseql_observer.change_log (entity_type, entity_id, operation, after, published_at)
            SELECT 'order', g::text, 'insert', jsonb_build_object('id', g, 'status', 'old'),
                   CASE WHEN g <= 2 THEN now() END
              FROM generate_series(1, 5) AS g
            """)
        for _ in 0..<2 {
            try await ChangeLogInstaller.install(
                configuration: database.configuration, tables: [Self.tables[0]], allowSuperuser: true,
                logger: Logger(label: "tests"))
        }
        var ids = try await changeLogIDs(database)
        #expect(ids.all == [1, 2, 3, 4, 5])
        #expect(ids.pending == [3, 4, 5])
        try await database.execute("INSERT INTO orders (status) VALUES ('new')")
        ids = try await changeLogIDs(database)
        #expect(ids.pending == [3, 4, 5, 6])
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 4)
            let events = try messages.map { try WireFormat.decode(EntityEvent.self, from: $0.payload) }
            #expect(events.map(\.cursor) == [3, 4, 5, 6])
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("a NATS outage of 10 s during load loses nothing and duplicates nothing")
    func natsOutage() async throws {
        let port = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = ServerProcess.natsServer(port: port, directory: directory)
        try await server.start(waitForPort: port)
        let database = try await TestDatabase.create()
        try await database.execute(
            "CREATE TABLE orders (id serial PRIMARY KEY, status text, total numeric, secret text, writer int, seq int)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration, tables: [Self.tables[0]], allowSuperuser: true,
            logger: Logger(label: "tests"))
        let jetStream = try await connectNATS("nats://127.0.0.1:\(port)")
        let (stream, prefix) = try await makeStream(jetStream)
        let rows = 1500
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let connection = try await database.connect()
                    for seq in 0..<rows {
                        try await connection.query(
                            "INSERT INTO orders (writer, seq) VALUES (1, \(seq))", logger: Logger(label: "tests"))
                        if seq % 100 == 0 { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    try await connection.close()
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(1))
                    server.stop()
                    try await Task.sleep(for: .seconds(10))
                    try await server.start(waitForPort: port)
                }
                try await group.waitForAll()
            }
            #expect(
                try await waitForCount(jetStream, stream: stream, atLeast: UInt64(rows), timeout: .seconds(60))
                    == UInt64(rows))
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: rows)
            let sequences = try messages.map { try WireFormat.decode(EntityEvent.self, from: $0.payload).after?["seq"] }
            print("nats outage: \(rows) rows written, \(messages.count) events in the stream")
            #expect(messages.count == rows)
            #expect(sequences == (0..<rows).map { .int(Int64($0)) }, "lost, duplicated or reordered events")
        }
        server.stop()
    }

    @Test("LISTEN/NOTIFY wakes the bridge: a row is published at once with a 60 s poll interval")
    func notifyWakesTheBridge() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        try await withBridge(database: database, jetStream: jetStream, prefix: prefix, pollInterval: .seconds(60)) {
            try await Task.sleep(for: .seconds(1))  // the bridge leads, finds nothing, and waits
            try await database.execute("INSERT INTO orders (status, total) VALUES ('new', 5)")
            // Within 5 s: the next poll is 60 s away.
            let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 1, timeout: .seconds(5))
            #expect(messages.count == 1, "woken by NOTIFY")
        }
        try await jetStream.deleteStream(stream)
    }

    @Test("an entity name that cannot be a subject token is rejected by install")
    func badEntity() throws {
        let error = #expect(throws: ChangeLogError.self) {
            try ChangeLogSchema.statements(for: [
                BridgeConfiguration.Table(table: "public.x", entity: "line item")
            ])
        }
        #expect(error?.code == .install)
        do {
            _ = try ChangeLogSchema.statements(for: [
                BridgeConfiguration.Table(table: "public.x", entity: "a.b")
            ])
            Issue.record("an entity with a dot was accepted")
        } catch {
            #expect("\(error)".contains("cannot be a NATS subject token"))
        }
        let script = try ChangeLogSchema.script(for: Self.tables)
        #expect(script.contains("CREATE OR REPLACE TRIGGER \"fraiseql_capture_order\""))
        #expect(script.contains("\"public\".\"orders\""))
    }
}
