import BridgeEngine
import Contracts
import Foundation
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Runtime
import Testing

/// pg-bridge as separate processes, killed with SIGKILL.
@Suite("pg-bridge processes", .serialized)
struct PGBridgeProcessTests {
    struct Setup {
        let database: TestDatabase
        let jetStream: JetStream
        let stream: String
        let prefix: String
        let configPath: String
    }

    func setUp() async throws -> Setup {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, writer int, seq int)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let jetStream = try await connectNATS()
        let stream = Stack.unique("B").uppercased()
        let prefix = stream.lowercased()
        let config = """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            subject_prefix = "\(prefix)"
            [nats.stream]
            name = "\(stream)"
            duplicate_window = "10m"
            [postgres]
            url = "\(database.url)"
            [bridge]
            transport_name = "pg-crash"
            batch_size = 200
            poll_interval = "200ms"
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            """
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return Setup(database: database, jetStream: jetStream, stream: stream, prefix: prefix, configPath: path)
    }

    func bridge(_ setup: Setup) throws -> (ServerProcess, Int) {
        try Binaries.service("pg-bridge", config: setup.configPath)
    }

    /// `writers` concurrent writers, each inserting `rows` rows (one per transaction) in order.
    func write(_ setup: Setup, writers: Int, rows: Int, pauseEvery: Int = 0, pause: Duration = .zero) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let connection = try await setup.database.connect()
                    let logger = Logger(label: "tests.writer")
                    for seq in 0..<rows {
                        try await connection.query(
                            "INSERT INTO orders (writer, seq) VALUES (\(writer), \(seq))", logger: logger)
                        if pauseEvery > 0, seq % pauseEvery == 0 { try await Task.sleep(for: pause) }
                    }
                    try await connection.close()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Every row exactly once, and each writer's rows in the order it committed them.
    func verify(_ setup: Setup, writers: Int, rows: Int) async throws {
        let total = writers * rows
        let count = try await waitForCount(
            setup.jetStream, stream: setup.stream, atLeast: UInt64(total), timeout: .seconds(120))
        let messages = try await readStream(setup.jetStream, subject: "\(setup.prefix).>", expected: total)
        var perWriter = [[Int64]](repeating: [], count: writers)
        var ids = Set<String>()
        for message in messages {
            let event = try WireFormat.decode(EntityEvent.self, from: message.payload)
            ids.insert(event.id.uuidString)
            guard case .int(let writer)? = event.after?["writer"], case .int(let seq)? = event.after?["seq"] else {
                Issue.record("event without writer/seq")
                continue
            }
            perWriter[Int(writer)].append(seq)
        }
        print("stream: \(count) messages for \(total) rows, \(ids.count) distinct event ids")
        #expect(count == UInt64(total))
        #expect(messages.count == total)
        #expect(ids.count == total)
        for (writer, sequence) in perWriter.enumerated() {
            #expect(sequence == (0..<Int64(rows)).map { $0 }, "writer \(writer): lost, duplicated or out of order")
        }
    }

    @Test("kill -9 of the bridge at random moments while 4 writers insert 20,000 rows: exactly one event per row")
    func crashSafety() async throws {
        let setup = try await setUp()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await write(setup, writers: 4, rows: 5000) }
            group.addTask {
                // Kill cycles while the writers run (bounded, fixed seed).
                var random = SeededRandom(seed: 42)
                var kills = 0
                for _ in 0..<12 {
                    let (process, port) = try bridge(setup)
                    try await process.start(waitForPort: port)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 200...1200, using: &random)))
                    process.stop(kill: true)
                    kills += 1
                }
                print("crash safety: \(kills) kill -9 of the bridge")
            }
            try await group.waitForAll()
        }
        let (process, port) = try bridge(setup)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        try await verify(setup, writers: 4, rows: 5000)
    }

    @Test("failover: kill -9 the leader mid-load, the standby takes over; nothing lost or duplicated")
    func failover() async throws {
        let setup = try await setUp()
        let (leader, leaderPort) = try bridge(setup)
        try await leader.start(waitForPort: leaderPort)
        let (standby, standbyPort) = try bridge(setup)
        defer { standby.stop() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await write(setup, writers: 2, rows: 3000, pauseEvery: 100, pause: .milliseconds(50)) }
            group.addTask {
                _ = try await waitForCount(setup.jetStream, stream: setup.stream, atLeast: 500)
                try await standby.start(waitForPort: standbyPort)
                try await Task.sleep(for: .seconds(1))
                let metricsURL = "http://127.0.0.1:\(standbyPort)/metrics"
                #expect(await leaderGauge(metricsURL) == 0, "the standby should not publish while the leader lives")
                let before = try await setup.jetStream.streamInfo(setup.stream).messages
                let clock = ContinuousClock()
                let killedAt = clock.now
                leader.stop(kill: true)
                // Takeover: the standby's own gauge says it leads.
                while await leaderGauge(metricsURL) != 1, clock.now - killedAt < .seconds(30) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let takeover = clock.now - killedAt
                let after = try await waitForCount(
                    setup.jetStream, stream: setup.stream, atLeast: before + 1, timeout: .seconds(30))
                print("failover: the standby took over \(takeover) after kill -9 of the leader")
                #expect(after > before, "the standby never published")
                #expect(takeover < .seconds(5))
            }
            try await group.waitForAll()
        }
        try await verify(setup, writers: 2, rows: 3000)
    }

    @Test("/health/ready is false while NATS or PostgreSQL is unreachable, and true again when NATS is back")
    func readiness() async throws {
        let setup = try await setUp()
        let natsPort = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = ServerProcess.natsServer(port: natsPort, directory: directory)
        try await nats.start(waitForPort: natsPort)
        let (bridge, port) = try Binaries.service(
            "pg-bridge", config: setup.configPath, environment: ["FRAISEQL_NATS_URL": "nats://127.0.0.1:\(natsPort)"])
        try await bridge.start(waitForPort: port)
        func ready() async -> (Int, String)? { await httpGet("http://127.0.0.1:\(port)/health/ready") }
        #expect(try await eventually { await ready()?.0 == 200 }, "ready with both up")
        nats.stop()
        #expect(
            try await eventually {
                let answer = await ready()
                return answer?.0 == 503 && answer?.1.contains(#""nats":false"#) == true
            }, "not ready while NATS is down")
        #expect(await httpGet("http://127.0.0.1:\(port)/health/live")?.0 == 200, "alive: it waits for NATS")
        try await nats.start(waitForPort: natsPort)
        #expect(try await eventually(.seconds(15)) { await ready()?.0 == 200 }, "ready again by itself")
        #expect(bridge.stop() == 0)
        nats.stop()

        let (cutOff, cutOffPort) = try Binaries.service(
            "pg-bridge", config: setup.configPath,
            environment: ["FRAISEQL_POSTGRES_URL": "postgres://postgres@127.0.0.1:\(try Stack.freePort())/app"])
        try await cutOff.start(waitForPort: cutOffPort)
        #expect(
            try await eventually {
                let answer = await httpGet("http://127.0.0.1:\(cutOffPort)/health/ready")
                return answer?.0 == 503 && answer?.1.contains(#""postgres":false"#) == true
            }, "not ready without PostgreSQL")
        #expect(cutOff.stop() == 0)
    }
}

/// A deterministic generator so a failing run can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}

@Suite("install command")
struct InstallCommandTests {
    /// A database with an `orders` table, and a config file that captures it.
    func ordersDatabase() async throws -> (TestDatabase, String) {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [postgres]
        url = "\(database.url)"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return (database, path)
    }

    @Test("install --print shows the DDL and applies nothing")
    func installPrint() async throws {
        let (database, path) = try await ordersDatabase()
        let (status, output) = try await Binaries.output("pg-bridge", ["install", "--print", "--config", path])
        #expect(status == 0)
        #expect(output.contains("CREATE TABLE IF NOT EXISTS fraiseql_observer.change_log ("))
        #expect(
            output.contains("CREATE OR REPLACE TRIGGER \"fraiseql_capture_order\" AFTER INSERT OR UPDATE OR DELETE ON"))
        let connection = try await database.connect()
        let rows = try await connection.query(
            "SELECT count(*)::int8 FROM pg_namespace WHERE nspname = 'fraiseql_observer'", logger: Logger(label: "t"))
        for try await count in rows.decode(Int64.self) { #expect(count == 0, "--print applied the DDL") }
        try await connection.close()
    }

    @Test("pg-bridge install applies the DDL (twice, safely); --print shows it; the CLI does the same")
    func install() async throws {
        let (database, path) = try await ordersDatabase()
        for _ in 0..<2 {
            let (status, errors) = try await Binaries.run(
                "pg-bridge", ["install", "--allow-superuser", "--config", path])
            #expect(status == 0, "\(errors)")
        }
        let (cliStatus, cliErrors) = try await Binaries.run(
            "fraiseql-observer", ["install", "--allow-superuser", "--config", path])
        #expect(cliStatus == 0, "\(cliErrors)")
        try await database.execute("INSERT INTO orders (status) VALUES ('new')")
        let connection = try await database.connect()
        let rows = try await connection.query(
            "SELECT count(*)::int8 FROM fraiseql_observer.change_log WHERE entity_type = 'order'",
            logger: Logger(label: "t"))
        for try await count in rows.decode(Int64.self) { #expect(count == 1) }
        try await connection.close()

        let badPath = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try "[[bridge.tables]]\ntable = \"public.orders\"\nentity = \"line item\"\n".write(
            toFile: badPath, atomically: true, encoding: .utf8)
        let (badStatus, badErrors) = try await Binaries.run("pg-bridge", ["install", "--print", "--config", badPath])
        #expect(badStatus == 2)
        #expect(badErrors.contains("bridge.tables[0].entity"))
        #expect(badErrors.contains("cannot be a NATS subject token"))
    }
}

/// The `fraiseql_bridge_leader` gauge of a bridge's /metrics, if present.
func leaderGauge(_ url: String) async -> Double? {
    guard let (_, body) = await httpGet(url) else { return nil }
    for line in body.split(separator: "\n") where line.hasPrefix("fraiseql_bridge_leader") {
        return Double(line.split(separator: " ").last ?? "")
    }
    return nil
}
