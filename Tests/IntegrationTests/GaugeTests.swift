import BridgeEngine
import Contracts
import Foundation
import JobQueue
import Logging
import NATS
import PostgresChangeLog
import Redis
import Runtime
import Testing

/// Every gauge of every service that has gauges reads what it names, at idle and under load,
/// checked against the servers themselves (SQL, XLEN, the queue's own depth, consumer info).
@Suite("gauges", .serialized)
struct GaugeTests {
    @Test("pg-bridge: leader, checkpoint, lag rows and age, drift; idle and with a backlog while NATS is down")
    func bridgeGauges() async throws {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let natsDirectory = try Stack.temporaryDirectory()
        let natsPort = try Stack.freePort()
        let nats = ServerProcess.natsServer(port: natsPort, directory: natsDirectory)
        try await nats.start(waitForPort: natsPort)
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [log]
        level = "error"
        [postgres]
        url = "\(database.url)"
        [nats]
        url = "nats://127.0.0.1:\(natsPort)"
        reconnect_wait = "100ms"
        [bridge]
        transport_name = "gauges"
        poll_interval = "200ms"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let (bridge, port) = try Binaries.service("pg-bridge", config: path)
        try await bridge.start(waitForPort: port)
        func gauge(_ name: String) async -> Double? {
            await metricValue(port: port, "fraiseql_bridge_\(name){transport=\"gauges\"}")
        }
        func pending() async throws -> Int {
            try await database.count("SELECT count(*)::int8 FROM fraiseql_observer.change_log_pending")
        }
        try await database.execute("INSERT INTO orders (status) SELECT 'a' FROM generate_series(1, 50)")
        #expect(try await eventually { try await pending() == 0 })
        #expect(try await eventually(.seconds(10)) { await gauge("lag_rows") == 0 })
        #expect(await gauge("leader") == 1)
        #expect(await gauge("lag_oldest_seconds") == 0)
        #expect(await gauge("schema_drift") == 0)
        let checkpoint = try await database.count(
            "SELECT cursor FROM fraiseql_observer.checkpoints WHERE transport = 'gauges'")
        #expect(checkpoint == 50)
        #expect(await gauge("checkpoint_cursor") == Double(checkpoint))
        // Under load: NATS down, a backlog builds; the gauges follow the change log.
        nats.stop()
        try await database.execute("INSERT INTO orders (status) SELECT 'b' FROM generate_series(1, 120)")
        #expect(try await eventually { try await pending() == 120 })
        #expect(try await eventually(.seconds(10)) { await gauge("lag_rows") == 120 })
        try await Task.sleep(for: .seconds(5.5))
        let age = await gauge("lag_oldest_seconds") ?? 0
        #expect(age > 1, "the oldest unpublished row ages: \(age)")
        try await nats.start(waitForPort: natsPort)
        #expect(try await eventually(.seconds(30)) { try await pending() == 0 })
        #expect(try await eventually(.seconds(10)) { await gauge("lag_rows") == 0 })
        #expect(try await eventually(.seconds(10)) { await gauge("checkpoint_cursor") == 170 })
        #expect(bridge.stop() == 0)
        nats.stop()
    }

    @Test("observer-worker: dlq_size, lag and oldest unprocessed age; idle and with events held by a slow receiver")
    func observerGauges() async throws {
        let receiver = try await Receiver { request, _ in
            request.text.contains(#""status":"bad""#) ? .init(status: 400) : .init(delay: .seconds(15))
        }
        let fixture = try await ObserverFixture.make(
            observers: BadInputTests.webhookObserver(receiver.url) + "\ntimeout = \"30s\"\n")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func gauge(_ name: String) async -> Double? { await metricValue(port: port, "fraiseql_observer_\(name)") }
        let redis = try redisClient()
        defer { redis.close() }
        try await fixture.publish(order(1, status: "bad"))
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 1 })
        let length = try await redis.xlen(RedisKeys(prefix: fixture.keyPrefix).observerDeadLetters)
        #expect(try await eventually(.seconds(10)) { await gauge("dlq_size") == Double(length) })
        #expect(length == 1)
        #expect(try await eventually(.seconds(10)) { await gauge("oldest_unprocessed_seconds") == 0 })
        #expect(try await eventually(.seconds(5)) { await gauge("lag_seconds") == 0 })
        // Under load: events held by the slow receiver are unacknowledged and age.
        for index in 2...6 { try await fixture.publish(order(index)) }
        #expect(try await eventually { receiver.count == 6 })
        #expect(
            try await eventually(.seconds(10)) { (await gauge("oldest_unprocessed_seconds") ?? 0) >= 2 },
            "the oldest unacknowledged event's age")
        let info = try await fixture.jetStream.consumerInfo(stream: fixture.stream, consumer: "workers")
        #expect(info.ackPending == 5, "the server agrees: 5 awaiting an ack")
        // `status` warns once the oldest unprocessed event is past half of max_age (20 s here).
        try await Task.sleep(for: .seconds(9))
        let status = Process()
        status.executableURL = URL(fileURLWithPath: try Binaries.path("fraiseql-observer"))
        status.arguments = ["status", "--config", fixture.configPath]
        status.environment = ProcessInfo.processInfo.environment.merging(["FRAISEQL_NATS_STREAM_MAX_AGE": "20s"]) {
            $1
        }
        let output = Pipe()
        status.standardOutput = output
        try status.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        status.waitUntilExit()
        #expect(text.contains("oldest unprocessed event:") && text.contains("WARNING: past half of max_age"), "\(text)")
        #expect(try await fixture.settled(timeout: .seconds(30)))
        #expect(try await eventually(.seconds(10)) { await gauge("oldest_unprocessed_seconds") == 0 })
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("job-worker: queue depth, delayed and dead letters match the queue; idle and with jobs waiting")
    func jobGauges() async throws {
        let receiver = try await Receiver { request, _ in
            request.path == "/bad" ? .init(status: 400) : .init(delay: .seconds(2))
        }
        let prefix = Stack.unique("jgg") + ":"
        let path = try jobWorkerConfig(prefix: prefix, level: "error", jobs: "concurrency = 2")
        let (worker, port) = try Binaries.service("job-worker", config: path)
        try await worker.start(waitForPort: port)
        func gauge(_ name: String) async -> Double? {
            await metricValue(port: port, "fraiseql_job_\(name){queue=\"default\"}")
        }
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: prefix)
        #expect(try await eventually(.seconds(10)) { await gauge("queue_depth") == 0 })
        #expect(await gauge("delayed") == 0)
        #expect(await gauge("dlq_size") == 0)
        // Under load: 8 jobs for 2 slots of 2 s each, one scheduled an hour out, one that fails.
        for _ in 0..<8 { try await queue.enqueue(httpJob(queue: "default", url: receiver.url + "/slow")) }
        var later = httpJob(queue: "default", url: receiver.url + "/slow")
        later.notBefore = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 3_600_000_000)
        try await queue.enqueue(later)
        try await queue.enqueue(httpJob(queue: "default", url: receiver.url + "/bad"))
        try await Task.sleep(for: .seconds(5.5))
        let depth = try await queue.depth("default")
        let shown = await gauge("queue_depth") ?? -1
        #expect(depth.queued > 0, "jobs still waiting: \(depth)")
        // Sampled every 5 s: within the two jobs the worker finishes per 2 s of the truth.
        #expect(abs(shown - Double(depth.queued)) <= 6, "gauge \(shown), queue \(depth.queued)")
        #expect(await gauge("delayed") == 1)
        #expect(depth.delayed == 1)
        #expect(try await eventually(.seconds(30)) { try await queue.depth("default").queued == 0 })
        #expect(try await eventually(.seconds(10)) { await gauge("queue_depth") == 0 })
        #expect(try await eventually(.seconds(10)) { await gauge("dlq_size") == 1 })
        #expect(try await queue.depth("default").deadLetters == 1)
        #expect(worker.stop() == 0)
        await receiver.stop()
    }
}
