import Contracts
import Foundation
import JobQueue
import NATS
import Redis
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An HTTP call to the gateway: status code and body.
func httpCall(_ method: String, _ url: String, token: String? = nil, body: String? = nil) async -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = 30
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let body {
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (0, "") }
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// The value of a metric line (`name{labels}`) on a /metrics page; nil when absent.
func metricLine(_ text: String, _ series: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
        Double($0.split(separator: " ").last ?? "")
    }
}

/// A JSON object's member by path (`["status", "job_queues"]`).
func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

/// metrics-gateway and its admin library against an observer fleet on the real servers.
struct GatewayFixture {
    static let adminToken = "admin-token-0123456789"
    static let readToken = "read-token-0123456789"

    let observer: ObserverFixture
    let gateway: ServerProcess
    let port: Int
    let configPath: String

    var base: String { "http://127.0.0.1:\(port)" }

    /// A gateway on `observer`'s configuration plus `[gateway]`, reading every 300 ms.
    static func start(_ observer: ObserverFixture, services: [(String, Int)] = [], extra: String = "") async throws
        -> GatewayFixture
    {
        var config = try String(contentsOfFile: observer.configPath, encoding: .utf8)
        config += """

            \(extra)
            [gateway]
            refresh_interval = "300ms"
            [[gateway.tokens]]
            name = "ops"
            token = "\(adminToken)"
            role = "admin"
            [[gateway.tokens]]
            name = "viewer"
            token = "\(readToken)"
            role = "read"

            """
        for (name, port) in services {
            config += "[[gateway.services]]\nname = \"\(name)\"\nurl = \"http://127.0.0.1:\(port)\"\n"
        }
        let path = try Stack.temporaryDirectory().appendingPathComponent("gateway.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let (gateway, port) = try Binaries.service("metrics-gateway", config: path)
        try await gateway.start(waitForPort: port)
        return GatewayFixture(observer: observer, gateway: gateway, port: port, configPath: path)
    }

    func metrics() async -> String { await httpGet("\(base)/metrics")?.1 ?? "" }
}

@Suite("metrics-gateway", .serialized)
struct MetricsGatewayTests {
    @Test(
        "gauges and the admin API show pending, DLQ and queue numbers; a retry through the API delivers; tokens and roles"
    )
    func gaugesAndAdminAPI() async throws {
        let healed = Flag()
        let receiver = try await Receiver { request, _ in
            request.path == "/bad" && !healed.isSet ? .init(status: 400, body: "unknown customer") : .init()
        }
        let observer = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "paid"
                entity = "order"
                condition = "field_changed_to('status', 'paid')"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/ok"
                [[observers]]
                name = "refund"
                entity = "order"
                condition = "field_changed_to('status', 'refunded')"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/bad"
                """, extra: "[jobs]\nqueues = [\"default\", \"mail\"]\n")
        let (worker, workerPort) = try observer.worker()
        try await worker.start(waitForPort: workerPort)
        for index in 0..<5 { try await observer.publish(order(index)) }
        let refunds = (10..<12).map { order($0, status: "refunded") }
        for event in refunds { try await observer.publish(event) }
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await observer.deadLetters(redis).count == 2 })
        #expect(try await observer.settled())
        // Three jobs wait in `mail` (no job-worker runs).
        let jobs = JobQueue(redis: redis, prefix: observer.keyPrefix)
        for index in 0..<3 {
            _ = try await jobs.enqueue(Job(queue: "mail", kind: "email", payload: ["n": .int(Int64(index))]))
        }
        let gateway = try await GatewayFixture.start(observer, services: [("observer-worker", workerPort)])

        // The gauges, against what the servers themselves say.
        let stream = try await observer.jetStream.streamInfo(observer.stream)
        let consumer = try await observer.jetStream.consumerInfo(stream: observer.stream, consumer: "workers")
        let letters = try await redis.xlen(RedisKeys(prefix: observer.keyPrefix).observerDeadLetters)
        #expect(letters == 2)
        #expect(
            try await eventually {
                metricLine(await gateway.metrics(), "fraiseql_gateway_observer_dead_letters") == Double(letters)
            })
        let metrics = await gateway.metrics()
        let streamLabel = "{stream=\"\(observer.stream)\"}"
        #expect(metricLine(metrics, "fraiseql_gateway_stream_messages\(streamLabel)") == Double(stream.messages))
        #expect(stream.messages == 7)
        #expect(
            metricLine(metrics, "fraiseql_gateway_consumer_pending{stream=\"\(observer.stream)\",consumer=\"workers\"}")
                == Double(consumer.pending))
        #expect(metricLine(metrics, "fraiseql_gateway_job_queue{queue=\"mail\",state=\"queued\"}") == 3)
        #expect(metricLine(metrics, "fraiseql_gateway_job_queue{queue=\"default\",state=\"queued\"}") == 0)
        #expect(metricLine(metrics, "fraiseql_gateway_part_up{part=\"redis\"}") == 1)
        #expect(metricLine(metrics, "fraiseql_gateway_part_up{part=\"nats\"}") == 1)
        #expect(metricLine(metrics, "fraiseql_gateway_circuit_open{endpoint=\"\(receiver.url)\"}") == 0)

        // Tokens and roles.
        let status = "\(gateway.base)/api/v1/status"
        #expect(await httpCall("GET", status).0 == 401, "no token")
        #expect(await httpCall("GET", status, token: "wrong-token-0123456789").0 == 401, "a wrong token")
        let (code, body) = await httpCall("GET", status, token: GatewayFixture.readToken)
        #expect(code == 200, "\(body)")
        let snapshot = try #require(json(body) as? [String: Any])
        let fleet = try #require(snapshot["status"] as? [String: Any])
        #expect(fleet["observer_dead_letters"] as? Int == 2)
        let queues = try #require(fleet["job_queues"] as? [[String: Any]])
        #expect(queues.first { $0["name"] as? String == "mail" }?["queued"] as? Int == 3)
        let services = try #require(snapshot["services"] as? [[String: Any]])
        #expect(services.first?["name"] as? String == "observer-worker" && services.first?["ready"] as? Bool == true)

        // The letters, and a retry: refused with the read token, done with the admin token.
        let list = await httpCall(
            "GET", "\(gateway.base)/api/v1/dead-letters/observer", token: GatewayFixture.readToken)
        let entries = try #require((json(list.1) as? [String: Any])?["entries"] as? [[String: Any]], "\(list)")
        #expect(entries.count == 2)
        let ids = entries.compactMap { $0["id"] as? String }
        #expect(
            Set(entries.compactMap { ($0["letter"] as? [String: Any])?["event_id"] as? String })
                == Set(refunds.map { $0.id.uuidString.lowercased() }))
        let retry = "\(gateway.base)/api/v1/dead-letters/observer/retry"
        let idsBody = #"{"ids":["\#(ids.joined(separator: "\",\""))"]}"#
        #expect(await httpCall("POST", retry, token: GatewayFixture.readToken, body: idsBody).0 == 403)
        #expect(await httpCall("POST", retry, body: idsBody).0 == 401)
        healed.set()
        let retried = await httpCall("POST", retry, token: GatewayFixture.adminToken, body: idsBody)
        #expect(retried.0 == 200, "\(retried)")
        let results = (json(retried.1) as? [String: Any])?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 2 && results.allSatisfy { $0["outcome"] as? String == "retried" }, "\(retried)")
        // The events succeed this time: the receiver answers 200 to both, the letters are gone.
        #expect(
            try await eventually {
                receiver.requests.filter { $0.path == "/bad" && $0.status == 200 }.count == 2
            })
        #expect(try await observer.settled())
        #expect(try await redis.xlen(RedisKeys(prefix: observer.keyPrefix).observerDeadLetters) == 0)
        #expect(
            try await eventually {
                metricLine(await gateway.metrics(), "fraiseql_gateway_observer_dead_letters") == 0
            })
        #expect(receiver.requests.filter { $0.path == "/ok" }.count == 5, "the other events are not repeated")
        #expect(
            metricLine(
                await gateway.metrics(), "fraiseql_gateway_admin_requests_total{route=\"dead-letters-retry\",status=\"403\"}"
            ) == 1)

        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }
}
