import Foundation
import NATS
import PostgresNIO
import Testing

/// docs/deployment/migration.md under load: four writers insert orders the whole time while the
/// deployment moves from the PostgreSQL-only topology (postgres-transport workers) to the NATS
/// fleet (pg-bridge, NATS workers) and back. Every order the application's table holds reaches
/// the webhook receiver exactly once: nothing lost, nothing repeated. The truth is the `orders`
/// table and the receiver's log, never the fleet's own tables.
@Suite("topology migration: PostgreSQL only → NATS fleet → PostgreSQL only, under load", .serialized)
struct TopologyMigrationProcessTests {
    @Test("every order written during both migrations is delivered exactly once")
    func migrateUnderLoad() async throws {
        let receiver = try await Receiver()
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, writer int, n int)")
        let stream = Stack.unique("MIG").uppercased()
        let prefix = stream.lowercased()
        let shared = """
            [log]
            level = "warning"
            [postgres]
            url = "\(database.url)"
            [bridge]
            transport_name = "pg-main"
            poll_interval = "50ms"
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            [[observers]]
            name = "new-order"
            entity = "order"
            operations = ["insert"]
            [[observers.actions]]
            kind = "webhook"
            url = "\(receiver.url)/order"
            body = '{"order": {{after.id}}}'
            """
        let directory = try Stack.temporaryDirectory()
        let postgresConfig = directory.appendingPathComponent("postgres-only.toml").path
        try (shared + "\n[observer]\ntransport = \"postgres\"\n").write(
            toFile: postgresConfig, atomically: true, encoding: .utf8)
        let natsConfig = directory.appendingPathComponent("nats.toml").path
        try
            (shared + """

                [nats]
                url = "\(try Stack.url("NATS_URL"))"
                subject_prefix = "\(prefix)"
                [nats.stream]
                name = "\(stream)"
                [redis]
                url = "\(try Stack.url("REDIS_URL"))"
                key_prefix = "\(prefix):"
                [observer]
                transport = "nats"
                consumer = "workers"
                """).write(toFile: natsConfig, atomically: true, encoding: .utf8)
        for config in [postgresConfig, natsConfig] {
            let (status, errors) = try await Binaries.run("fraiseql-observer", ["validate", "--config", config])
            try #require(status == 0, "\(errors)")
        }
        let (installed, output) = try await Binaries.run(
            "fraiseql-observer", ["install", "--allow-superuser", "--config", postgresConfig])
        try #require(installed == 0, "\(output)")

        // The load: four writers, one order at a time each, until cancelled.
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 1...4 {
                    group.addTask {
                        let connection = try await database.connect()
                        var n = 0
                        while !Task.isCancelled {
                            n += 1
                            try await connection.query(
                                "INSERT INTO orders (writer, n) VALUES (\(writer), \(n))", logger: .init(label: "w"))
                            try? await Task.sleep(for: .milliseconds(4))
                        }
                        try await connection.close()
                    }
                }
                try await group.waitForAll()
            }
        }
        func orders() async throws -> Int { try await database.count("SELECT count(*)::int FROM orders") }

        // 1. PostgreSQL only: two postgres-transport workers.
        var postgresWorkers = try (0..<2).map { _ in try Binaries.service("observer-worker", config: postgresConfig) }
        for (worker, port) in postgresWorkers { try await worker.start(waitForPort: port) }
        try await Task.sleep(for: .seconds(2))
        let beforeForward = try await orders()

        // 2. Forward: NATS workers up (idle), postgres workers stopped, then pg-bridge ×2.
        let natsWorkers = try (0..<2).map { _ in try Binaries.service("observer-worker", config: natsConfig) }
        for (worker, port) in natsWorkers { try await worker.start(waitForPort: port) }
        for (worker, _) in postgresWorkers { #expect(worker.stop() == 0, "a postgres worker stops cleanly") }
        let bridges = try (0..<2).map { _ in try Binaries.service("pg-bridge", config: natsConfig) }
        for (bridge, port) in bridges { try await bridge.start(waitForPort: port) }
        try await Task.sleep(for: .seconds(3))
        let jetStream = try await connectNATS()
        let published = try await jetStream.streamInfo(stream).messages
        #expect(published > 0, "the fleet carried orders after the forward switch")

        // 3. Backward: bridges stopped, the consumer drained, NATS workers stopped, postgres
        // workers again.
        for (bridge, _) in bridges { #expect(bridge.stop() == 0, "a bridge stops cleanly") }
        #expect(
            try await eventually(.seconds(60)) {
                let info = try await jetStream.consumerInfo(stream: stream, consumer: "workers")
                return info.pending == 0 && info.ackPending == 0
            }, "the NATS consumer drains")
        for (worker, _) in natsWorkers { #expect(worker.stop() == 0, "a NATS worker stops cleanly") }
        postgresWorkers = try (0..<2).map { _ in try Binaries.service("observer-worker", config: postgresConfig) }
        for (worker, port) in postgresWorkers { try await worker.start(waitForPort: port) }
        try await Task.sleep(for: .seconds(2))

        // 4. The load stops; everything written must arrive, once.
        writers.cancel()
        try await writers.value
        let total = try await orders()
        #expect(
            try await eventually(.seconds(60)) {
                receiver.requests.filter { $0.path == "/order" }.count >= total
            }, "every order delivered")
        try await Task.sleep(for: .seconds(1))  // anything repeated late would show now
        for (worker, _) in postgresWorkers { #expect(worker.stop() == 0) }
        await receiver.stop()

        let delivered = receiver.requests.filter { $0.path == "/order" }.compactMap { request in
            (try? JSONSerialization.jsonObject(with: Data(request.text.utf8)) as? [String: Any])?["order"] as? Int
        }
        let ids = Set(1...total)
        var seen: [Int: Int] = [:]
        for id in delivered { seen[id, default: 0] += 1 }
        let missing = ids.subtracting(seen.keys).sorted()
        let repeated = seen.filter { $0.value > 1 }.keys.sorted()
        #expect(missing.isEmpty, "lost: \(missing.prefix(20)) of \(total)")
        #expect(repeated.isEmpty, "repeated: \(repeated.prefix(20))")
        #expect(delivered.count == total, "\(delivered.count) deliveries for \(total) orders")
        #expect(beforeForward > 0 && UInt64(total) > published, "orders went through both topologies")
        print(
            "migration: \(total) orders, \(beforeForward) before the forward switch, \(published) through NATS, \(delivered.count) delivered"
        )
    }
}
