import BridgeEngine
import Contracts
import Foundation
import JobQueue
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime
import Synchronization
import Testing

/// Ordinary bad input and failure windows (docs/operations.md, "Bad input and faults"): each test
/// reproduces a way the pipeline used to stall, crash or repeat, against the real servers.
@Suite("bad input and faults", .serialized)
struct BadInputTests {
    static func webhookObserver(_ url: String, extra: String = "") -> String {
        """
        [[observers]]
        name = "hook"
        entity = "order"
        \(extra)
        [[observers.actions]]
        kind = "webhook"
        url = "\(url)/hook"
        """
    }

    @Test("a webhook answered 200 with a body over 64 KiB is delivered once: the status decides, the body is cut")
    func longSuccessBody() async throws {
        let long = String(repeating: "x", count: 300_000)
        let receiver = try await Receiver { _, _ in .init(body: long) }
        // A generous timeout: on two busy cores a 300 KB answer can take seconds, and a timeout
        // would be a retry (a second delivery) for another reason than the one tested here.
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(receiver.url) + "\ntimeout = \"30s\"\n")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        for id in 1...3 { try await fixture.publish(order(id)) }
        #expect(try await eventually { receiver.count >= 3 })
        // Redeliveries would come within the backoff's first step (5 s): wait for the consumer
        // to settle instead of sleeping, then assert.
        let settled = try await eventually {
            let info = try await fixture.jetStream.consumerInfo(stream: fixture.stream, consumer: "workers")
            return info.ackPending == 0 && info.pending == 0
        }
        #expect(settled)
        #expect(receiver.count == 3, "each event delivered once: \(receiver.count) requests")
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await fixture.deadLetters(redis).isEmpty)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("an event nested 200,000 levels deep is dead-lettered with its reason; the worker lives on")
    func deeplyNested() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(receiver.url) + "\nbody = '{\"status\": \"{{after.status}}\"}'\n")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        var nested = String(decoding: FastJSON.encode(order(1)), as: UTF8.self)
        let depth = 200_000
        nested = nested.replacingOccurrences(
            of: #""after":{"#,
            with: #""after":{"deep":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                + ",")
        #expect(nested.utf8.count > 400_000)
        try await fixture.publishRaw(nested, subject: "order.update")
        let next = order(2)
        try await fixture.publish(next)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 1 && receiver.count == 1 })
        let letter = try #require(try await fixture.deadLetters(redis).first)
        #expect(letter.reason == .undecodable && letter.lastError.contains("nested deeper than 512"))
        #expect(letter.payload.utf8.count == nested.utf8.count, "the payload is kept whole")
        #expect(receiver.requests.first?.text.contains("paid") == true, "the next event flowed on")
        #expect(worker.isRunning && kill(worker.processID, 0) == 0, "the worker is alive")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("a message delivered past delivery_limit is dead-lettered before decoding (reason delivery_limit)")
    func deliveryLimit() async throws {
        let receiver = try await Receiver { _, _ in .init(status: 503) }
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(
                receiver.url,
                extra:
                    "max_attempts = 100\nbackoff = { kind = \"fixed\", base = \"50ms\", cap = \"50ms\", jitter = 0.0 }"),
            observer: "delivery_limit = 10\ncircuit_min_calls = 1000")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(1)
        try await fixture.publish(event)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 1 })
        let letter = try #require(try await fixture.deadLetters(redis).first)
        #expect(letter.reason == .deliveryLimit && letter.attempts == 11, "\(letter)")
        #expect(letter.lastError.contains("delivery_limit (10)"))
        #expect(try EntityEvent.decode(Array(letter.payload.utf8)) == event)
        #expect(receiver.count == 10, "one call per delivery up to the limit, none after")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("a message larger than max_event_bytes is dead-lettered as too_large without being decoded")
    func tooLarge() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(receiver.url), observer: "max_event_bytes = 2048")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        var big = order(1)
        big.after?["note"] = .string(String(repeating: "n", count: 4096))
        try await fixture.publish(big)
        try await fixture.publish(order(2))
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 1 && receiver.count == 1 })
        let letter = try #require(try await fixture.deadLetters(redis).first)
        #expect(letter.reason == .tooLarge && letter.lastError.contains("max_event_bytes (2048)"))
        #expect(try EntityEvent.decode(Array(letter.payload.utf8)) == big, "kept whole, replayable")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "a receiver failing 30% of requests at random: 5,000 events all delivered, no dead letter, duplicates only with the same webhook-id"
    )
    func flakyReceiver() async throws {
        let receiver = try await Receiver { _, _ in Double.random(in: 0..<1) < 0.3 ? .init(status: 503) : .init() }
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(
                receiver.url, extra: "backoff = { kind = \"exponential\", base = \"50ms\", cap = \"1s\", jitter = 0.2 }"
            ))
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let count = 5_000
        var ids: Set<String> = []
        for index in 1...count {
            let event = order(index)
            ids.insert(event.id.lowercasedString)
            try await fixture.publish(event)
        }
        // The truth: the events published here, against what the receiver accepted.
        func accepted() -> [String: Int] {
            var seen: [String: Int] = [:]
            for request in receiver.requests where request.accepted {
                if let id = request.headers["webhook-id"] { seen[id, default: 0] += 1 }
            }
            return seen
        }
        #expect(try await eventually(.seconds(180)) { accepted().count == count })
        let seen = accepted()
        let bodies = Set(
            receiver.requests.filter(\.accepted).compactMap { try? EntityEvent.decode($0.body).id.lowercasedString })
        #expect(bodies.count == count && bodies.subtracting(ids).isEmpty, "every published event was accepted")
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await fixture.deadLetters(redis).isEmpty, "no dead letter")
        // A duplicate is a repeat of one event: the same webhook-id (the receiver's dedup key).
        let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
        let failed = receiver.requests.filter { !$0.accepted }.count
        print(
            "flaky receiver: \(count) events, \(receiver.count) requests, \(failed) failed (30% injected), \(duplicates) duplicate deliveries"
        )
        // `webhook-id` is `<event id>.<action key>`: one per event and action.
        let hooked = Set(seen.keys.map { String($0.prefix { $0 != "." }) })
        #expect(hooked.count == count && hooked.subtracting(ids).isEmpty, "one webhook-id per published event")
        let circuit = await metricValue(port: port, "fraiseql_observer_dead_letters_total")
        #expect(circuit == nil || circuit == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("an open circuit does not spend attempts: events refused while it is open are delivered when it closes")
    func openCircuitKeepsAttempts() async throws {
        let down = Atomic(true)
        let receiver = try await Receiver { _, _ in down.load(ordering: .relaxed) ? .init(status: 503) : .init() }
        let fixture = try await ObserverFixture.make(
            observers: Self.webhookObserver(
                receiver.url,
                extra:
                    "max_attempts = 2\nbackoff = { kind = \"fixed\", base = \"100ms\", cap = \"100ms\", jitter = 0.0 }"),
            observer: "circuit_min_calls = 2\ncircuit_reset = \"1s\"")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        for index in 1...20 { try await fixture.publish(order(index)) }
        // The circuit opens after 2 failures; the rest are refused, round after round, for 6 s:
        // far more than max_attempts deliveries each.
        #expect(
            try await eventually {
                await metricValue(port: port, "fraiseql_observer_circuit_state{endpoint=\"127.0.0.1\"}") != nil
                    || receiver.count >= 2
            })
        try await Task.sleep(for: .seconds(6))
        down.store(false, ordering: .relaxed)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(
            try await eventually(.seconds(60)) {
                let delivered = Set(receiver.requests.filter(\.accepted).compactMap { $0.headers["webhook-id"] })
                return delivered.count + (try await fixture.deadLetters(redis).count) == 20
            })
        let letters = try await fixture.deadLetters(redis)
        // Only the events the receiver really saw twice while it was down (the first calls and
        // the trial calls) may have exhausted their 2 attempts; the refused ones kept theirs,
        // however often they were refused.
        let calls = Dictionary(grouping: receiver.requests, by: { $0.headers["webhook-id"] ?? "" })
        for letter in letters {
            let id = "\(letter.eventId?.lowercasedString ?? "").hook#0"
            #expect(calls[id]?.count == 2, "dead-lettered after \(calls[id]?.count ?? 0) calls")
        }
        #expect(letters.count < 10, "\(letters.count) dead letters")
        let delivered = Set(receiver.requests.filter(\.accepted).compactMap { $0.headers["webhook-id"] })
        #expect(delivered.count + letters.count == 20)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("fraiseql_observer_in_flight reads 0 at idle and the events being worked on under load")
    func inFlightGauge() async throws {
        let receiver = try await Receiver { _, _ in .init(delay: .seconds(3)) }
        let fixture = try await ObserverFixture.make(observers: Self.webhookObserver(receiver.url))
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func inFlight() async -> Double? { await metricValue(port: port, "fraiseql_observer_in_flight") }
        // Idle: the fetch loop waits for messages with every slot reserved; none is in flight.
        #expect(try await eventually { await inFlight() == 0 })
        try await Task.sleep(for: .seconds(6))
        #expect(await inFlight() == 0, "idle after a sampling period")
        for index in 1...12 { try await fixture.publish(order(index)) }
        #expect(try await eventually { receiver.count == 12 })
        #expect(try await eventually(.seconds(8)) { await inFlight() == 12 }, "12 calls waiting on the receiver")
        #expect(try await eventually(.seconds(20)) { await inFlight() == 0 }, "back to 0 once they are settled")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }
}

@Suite("bad input: the bridge", .serialized)
struct BridgeBadInputTests {
    /// A database with `orders`, its change log installed, and a stream.
    func setUp() async throws -> (TestDatabase, JetStream, stream: String, prefix: String) {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text, note text)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        return (database, jetStream, stream, prefix)
    }

    @Test("a row whose event exceeds max_payload is set aside with its reason; the rows after it flow on")
    func oversizedDeadLetter() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        let maxPayload = jetStream.connection.maxPayload
        #expect(maxPayload > 0)
        try await database.execute("INSERT INTO orders (status) VALUES ('before')")
        try await database.execute(
            "INSERT INTO orders (status, note) VALUES ('huge', repeat('x', \(maxPayload + 100_000)))")
        try await database.execute("INSERT INTO orders (status) SELECT 'after' FROM generate_series(1, 200)")
        let (published, drained) = try await withBridge(database: database, jetStream: jetStream, prefix: prefix) {
            () async throws -> (UInt64, Bool) in
            let published = try await waitForCount(jetStream, stream: stream, atLeast: 201, timeout: .seconds(30))
            let drained = try await eventually {
                try await database.count("SELECT count(*)::int8 FROM fraiseql_observer.change_log_pending") == 0
            }
            return (published, drained)
        }
        #expect(published == 201, "the 201 other rows were published")
        #expect(drained, "every row settled, the huge one included")
        // The truth from the application's table: the huge row's id, and the letter for it.
        let hugeID = try await database.count("SELECT id FROM orders WHERE status = 'huge'")
        let connection = try await database.connect()
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            """
            SELECT (event->>'entity_id'), reason, event_bytes FROM fraiseql_observer.bridge_dead_letters
            """, logger: Logger(label: "t"))
        var letters: [(String, String, Int32)] = []
        for try await row in rows.decode((String, String, Int32).self) { letters.append(row) }
        #expect(letters.count == 1)
        #expect(letters.first?.0 == String(hugeID))
        #expect(letters.first?.1.contains("larger than the server's max_payload (\(maxPayload))") == true)
        #expect(Int(letters.first?.2 ?? 0) > maxPayload)
        // The operator sees it.
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [postgres]
        url = "\(database.url)"
        [nats]
        url = "\(try Stack.url("NATS_URL"))"
        [nats.stream]
        name = "\(stream)"
        [redis]
        url = "\(try Stack.url("REDIS_URL"))"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let (code, output) = try await Binaries.output("fraiseql-observer", ["status", "--config", path])
        #expect(code == 0, "\(output)")
        #expect(
            output.contains("bridge dead letters: 1 change(s) set aside") && output.contains("max_payload"), "\(output)"
        )
        try await jetStream.deleteStream(stream)
    }

    @Test("bridge.oversized = omit_images publishes the event without its row images, marked images_omitted")
    func oversizedOmitImages() async throws {
        let (database, jetStream, stream, prefix) = try await setUp()
        let maxPayload = jetStream.connection.maxPayload
        try await database.execute(
            "INSERT INTO orders (status, note) VALUES ('huge', repeat('x', \(maxPayload + 100_000)))")
        try await database.execute("INSERT INTO orders (status) VALUES ('after')")
        let published = try await withBridge(
            database: database, jetStream: jetStream, prefix: prefix, oversized: .omitImages
        ) { () async throws -> UInt64 in
            try await waitForCount(jetStream, stream: stream, atLeast: 2, timeout: .seconds(30))
        }
        #expect(published == 2)
        let messages = try await readStream(jetStream, subject: "\(prefix).>", expected: 2)
        let events = try messages.map { try EntityEvent.decode($0.payload) }
        let hugeID = try await database.count("SELECT id FROM orders WHERE status = 'huge'")
        let huge = try #require(events.first { $0.entityId == String(hugeID) })
        #expect(huge.imagesOmitted == true && huge.after == nil && huge.before == nil)
        #expect(events.contains { $0.after?["status"] == "after" && $0.imagesOmitted == nil })
        #expect(try await database.count("SELECT count(*)::int8 FROM fraiseql_observer.bridge_dead_letters") == 0)
        try await jetStream.deleteStream(stream)
    }

    @Test("install refuses a table or column that is not there (exit 2, naming the key); drift never fails a write")
    func installValidatesAndDrift() async throws {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text, tenant text)")
        let directory = try Stack.temporaryDirectory()
        func config(_ table: String) throws -> String {
            let path = directory.appendingPathComponent("\(UUID().uuidString).toml").path
            try
                "[postgres]\nurl = \"\(database.url)\"\n[[bridge.tables]]\ntable = \"public.orders\"\nentity = \"order\"\n\(table)\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        for (table, key) in [
            ("id_column = \"nope\"", "bridge.tables[0].id_column"),
            ("include_columns = [\"status\", \"totl\"]", "bridge.tables[0].include_columns"),
            ("exclude_columns = [\"secret\"]", "bridge.tables[0].exclude_columns"),
            ("tenant_column = \"tenant_id\"", "bridge.tables[0].tenant_column"),
        ] {
            let (status, errors) = try await Binaries.run(
                "pg-bridge", ["install", "--allow-superuser", "--config", try config(table)])
            #expect(status == 2, "\(table): \(errors)")
            #expect(errors.contains(key), "\(errors)")
        }
        let missing = directory.appendingPathComponent("missing.toml").path
        try "[postgres]\nurl = \"\(database.url)\"\n[[bridge.tables]]\ntable = \"public.ordrs\"\nentity = \"order\"\n"
            .write(toFile: missing, atomically: true, encoding: .utf8)
        let (missingStatus, missingErrors) = try await Binaries.run(
            "pg-bridge", ["install", "--allow-superuser", "--config", missing])
        #expect(missingStatus == 2 && missingErrors.contains("bridge.tables[0].table"), "\(missingErrors)")
        #expect(
            try await database.count("SELECT count(*)::int8 FROM pg_namespace WHERE nspname = 'fraiseql_observer'")
                == 0,
            "nothing was installed")

        // A valid install, then the id column is renamed: writes still succeed, the change is
        // captured with an empty entity_id, and status reports the drift.
        let good = try config("tenant_column = \"tenant\"")
        let (status, errors) = try await Binaries.run("pg-bridge", ["install", "--allow-superuser", "--config", good])
        #expect(status == 0, "\(errors)")
        try await database.execute("ALTER TABLE orders RENAME COLUMN id TO order_id")
        try await database.execute("INSERT INTO orders (status) VALUES ('after drift')")
        #expect(try await database.count("SELECT count(*)::int8 FROM orders") == 1, "the application's write succeeded")
        #expect(
            try await database.count(
                "SELECT count(*)::int8 FROM fraiseql_observer.change_log WHERE entity_id = '' AND after->>'status' = 'after drift'"
            )
                == 1)
        let (code, output) = try await Binaries.output("fraiseql-observer", ["status", "--config", good])
        #expect(code != 0 || output.contains("DRIFT"))
        #expect(output.contains("bridge.tables[0].id_column"), "\(output)")
    }
}

@Suite("bad input: jobs and the stream", .serialized)
struct JobsBadInputTests {
    @Test("fraiseql_job_running reads 0 at idle and the jobs being run under load")
    func runningGauge() async throws {
        let receiver = try await Receiver { _, _ in .init(delay: .seconds(3)) }
        let prefix = Stack.unique("jqg") + ":"
        let path = try jobWorkerConfig(prefix: prefix, jobs: "concurrency = 16")
        let (worker, port) = try Binaries.service("job-worker", config: path)
        try await worker.start(waitForPort: port)
        func running() async -> Double? { await metricValue(port: port, "fraiseql_job_running") }
        try await Task.sleep(for: .seconds(2))
        #expect(await running() ?? 0 == 0, "idle: the fetch loop's reserved slots are not jobs")
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: prefix)
        for _ in 0..<5 { try await queue.enqueue(httpJob(queue: "default", url: receiver.url)) }
        #expect(try await eventually { receiver.count == 5 })
        #expect(await running() == 5, "5 jobs waiting on the receiver")
        #expect(try await eventually(.seconds(10)) { await running() == 0 })
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test("a heartbeat extends only the claims its worker still owns; a reclaimed job is not taken back")
    func heartbeatOwnership() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: Stack.unique("jqh") + ":")
        try await queue.prepare(queues: ["default"])
        try await queue.enqueue(Job(queue: "default", kind: "noop", payload: .null))
        try await queue.enqueue(Job(queue: "default", kind: "noop", payload: .null))
        let fetched = try await queue.fetch(
            queues: ["default"], consumer: "slow", count: 2, block: nil, using: redis)
        #expect(fetched.count == 2)
        try await Task.sleep(for: .milliseconds(300))
        // Another worker reclaims both as idle past a short visibility timeout.
        let reclaimed = try await queue.reclaim("default", consumer: "other", visibilityTimeout: .milliseconds(200))
        #expect(reclaimed.count == 2)
        let lost = try await queue.heartbeat("default", consumer: "slow", entryIDs: fetched.map(\.entryID))
        #expect(Set(lost) == Set(fetched.map(\.entryID)), "the slow worker learns it lost both")
        // The truth from Redis itself: the entries still belong to the reclaiming worker.
        let pending = try await redis.execute(
            "XPENDING", [.string(queue.keys("default").stream), .string(JobQueue.consumerGroup), "-", "+", "10"])
        let owners = (pending.array ?? []).compactMap { $0.array?[1].string }
        #expect(owners == ["other", "other"], "\(owners)")
        // The owner's own heartbeat extends them.
        #expect(try await queue.heartbeat("default", consumer: "other", entryIDs: fetched.map(\.entryID)).isEmpty)
    }

    @Test("a stream with max_msgs refuses new events when full (discard-new) instead of dropping unprocessed ones")
    func discardNew() async throws {
        let jetStream = try await connectNATS()
        let name = Stack.unique("F").uppercased()
        try await jetStream.ensureStream(
            StreamConfiguration(name: name, subjects: ["\(name.lowercased()).>"], maxMessages: 3))
        for index in 1...3 {
            _ = try await jetStream.publish(OutgoingMessage(subject: "\(name.lowercased()).x", payload: [UInt8(index)]))
        }
        await #expect(throws: (any Error).self) {
            _ = try await jetStream.publish(OutgoingMessage(subject: "\(name.lowercased()).x", payload: [4]))
        }
        let info = try await jetStream.streamInfo(name)
        #expect(info.messages == 3 && info.firstSequence == 1, "the first three are kept")
        try await jetStream.deleteStream(name)
    }
}
