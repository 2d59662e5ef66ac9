import BridgeEngine
import Contracts
import Foundation
import JobQueue
import Logging
import NATS
import PostgresChangeLog
import Runtime
import Testing

@Suite("fleet end to end processes", .serialized)
struct FleetEndToEndProcessTests {
    @Test(
        "rows → pg-bridge → JetStream → observer-worker → webhook and job → job-worker → receiver, as separate processes"
    )
    func rowsToEffects() async throws {
        let receiver = try await Receiver()
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text, total numeric)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let jetStream = try await connectNATS()
        let stream = Stack.unique("E2E").uppercased()
        let keyPrefix = Stack.unique("e2e") + ":"
        let config = """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            subject_prefix = "\(stream.lowercased())"
            [nats.stream]
            name = "\(stream)"
            [redis]
            url = "\(try Stack.url("REDIS_URL"))"
            key_prefix = "\(keyPrefix)"
            [postgres]
            url = "\(database.url)"
            [bridge]
            transport_name = "e2e"
            poll_interval = "100ms"
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            [jobs]
            queues = ["default"]
            http_allowed_hosts = ["127.0.0.1"]
            [[observers]]
            name = "paid"
            entity = "order"
            operations = ["update"]
            condition = "field_changed_to('status', 'paid')"
            [[observers.actions]]
            kind = "webhook"
            url = "\(receiver.url)/paid"
            body = '{"order": {{after.id}}}'
            [[observers.actions]]
            kind = "job"
            job_kind = "http"
            payload = '{"url": "\(receiver.url)/receipt", "body": {"order": {{after.id}}}}'
            """
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        var services: [ServerProcess] = []
        for name in ["pg-bridge", "observer-worker", "job-worker"] {
            let (process, port) = try Binaries.service(name, config: path)
            try await process.start(waitForPort: port)
            services.append(process)
        }
        let rows = 200
        try await database.execute(
            "INSERT INTO orders (status, total) SELECT 'new', n FROM generate_series(1, \(rows)) AS n")
        try await database.execute("UPDATE orders SET status = 'paid' WHERE id % 2 = 0")
        let paid = rows / 2
        #expect(
            try await eventually(.seconds(60)) {
                receiver.requests.filter { $0.path == "/paid" }.count >= paid
                    && receiver.requests.filter { $0.path == "/receipt" }.count >= paid
            })
        let events = try await waitForCount(jetStream, stream: stream, atLeast: UInt64(rows + paid))
        let webhooks = receiver.requests.filter { $0.path == "/paid" }
        let jobs = receiver.requests.filter { $0.path == "/receipt" }
        let orders: Set<JSONValue> = Set(
            webhooks.compactMap { request -> JSONValue? in
                try? JSONDecoder().decode(JSONValue.self, from: Data(request.body))
            })
        let expectedOrders: Set<JSONValue> = Set(
            (1...rows).filter { $0 % 2 == 0 }.map { id -> JSONValue in .object(["order": .int(Int64(id))]) })
        #expect(orders == expectedOrders)
        #expect(Set(webhooks.compactMap { $0.headers["webhook-id"] }).count == paid)
        #expect(Set(jobs.compactMap { $0.headers["idempotency-key"] }).count == paid)
        print(
            "end to end: rows written \(rows + paid), events in stream \(events), webhooks \(webhooks.count),"
                + " jobs \(jobs.count), raw duplicates \(webhooks.count + jobs.count - 2 * paid)")
        #expect(events == UInt64(rows + paid))
        for process in services.reversed() { #expect(process.stop() == 0) }
        try? await jetStream.deleteStream(stream)
        await receiver.stop()
    }
}
