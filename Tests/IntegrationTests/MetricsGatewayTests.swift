import BridgeEngine
import Contracts
import Foundation
import JobQueue
import Logging
import NATS
import PostgresChangeLog
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

/// Runs in the serial phase of `make test` (a `ProcessTests` suite): Chromium, Prometheus and
/// schemathesis are heavy, and would starve the timing-sensitive suites running next to them.
@Suite("metrics-gateway", .serialized)
struct MetricsGatewayProcessTests {
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
                await gateway.metrics(),
                "fraiseql_gateway_admin_requests_total{route=\"dead-letters-retry\",status=\"403\"}"
            ) == 1)

        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }
}

/// Runs a command to completion; exit code and stdout+stderr.
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The repository's root (artefacts go to `.ci/artifacts`, the docs are read from it).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

extension MetricsGatewayProcessTests {
    @Test("replay re-delivers exactly the selected range under new ids; its dry run lists what the real run does")
    func replay() async throws {
        let receiver = try await Receiver()
        let observer = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "any"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/any"
                [[observers]]
                name = "paid"
                entity = "order"
                condition = "after.status == 'paid'"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/paid"
                """)
        let (worker, workerPort) = try observer.worker()
        try await worker.start(waitForPort: workerPort)
        let events = (0..<10).map { order($0, status: $0 % 2 == 0 ? "paid" : "pending") }
        for event in events { try await observer.publish(event) }
        #expect(try await eventually { receiver.requests.count == 15 })
        #expect(try await observer.settled())
        let gateway = try await GatewayFixture.start(observer)
        let url = "\(gateway.base)/api/v1/replay"

        // Dry run of sequences 3...7 (events 2...6): the read token is enough.
        let range = #""entity":"order","from_sequence":3,"to_sequence":7"#
        let dry = await httpCall(
            "POST", url, token: GatewayFixture.readToken, body: "{\(range),\"dry_run\":true,\"replay_id\":\"r1\"}")
        #expect(dry.0 == 200, "\(dry)")
        let report = try #require(json(dry.1) as? [String: Any])
        let items = try #require(report["events"] as? [[String: Any]])
        #expect(items.compactMap { $0["event_id"] as? String } == events[2...6].map { $0.id.lowercasedString })
        #expect(report["published"] as? Int == 0)
        // What the dry run says will arrive: one request per (replayed id, action).
        var expected: Set<String> = []
        for item in items {
            for action in item["actions"] as? [String] ?? [] { expected.insert("\(item["replayed_id"]!).\(action)") }
        }
        #expect(expected.count == 5 + 3, "5 events, 3 of them paid")
        try await Task.sleep(for: .milliseconds(500))
        #expect(receiver.requests.count == 15, "a dry run sends nothing")

        // The real run needs admin, then delivers exactly that.
        #expect(
            await httpCall("POST", url, token: GatewayFixture.readToken, body: "{\(range),\"replay_id\":\"r1\"}").0
                == 403)
        let real = await httpCall(
            "POST", url, token: GatewayFixture.adminToken, body: "{\(range),\"replay_id\":\"r1\"}")
        #expect(real.0 == 200, "\(real)")
        #expect((json(real.1) as? [String: Any])?["published"] as? Int == 5)
        #expect(try await eventually { receiver.requests.count == 15 + expected.count })
        #expect(try await observer.settled())
        let replayed = Set(receiver.requests.dropFirst(15).compactMap { $0.headers["webhook-id"] })
        #expect(replayed == expected, "the real run did what the dry run listed")
        // The same replay again: the stream's duplicate window keeps each copy once.
        let again = await httpCall(
            "POST", url, token: GatewayFixture.adminToken, body: "{\(range),\"replay_id\":\"r1\"}")
        #expect(again.0 == 200)
        try await Task.sleep(for: .seconds(1))
        #expect(try await observer.settled())
        #expect(receiver.requests.count == 15 + expected.count, "a rerun of the same replay delivers nothing new")

        // The CLI, on the configuration and through the gateway, lists the same.
        let cli = try Binaries.path("fraiseql-observer")
        let local = try runTool(
            cli,
            [
                "replay", "--dry-run", "--entity", "order", "--from-sequence", "3", "--to-sequence", "7", "--replay-id",
                "r1",
                "--format", "json", "--config", observer.configPath,
            ])
        #expect(local.0 == 0, "\(local.1)")
        let remote = try runTool(
            cli,
            [
                "replay", "--dry-run", "--entity", "order", "--from-sequence", "3", "--to-sequence", "7", "--replay-id",
                "r1",
                "--format", "json", "--gateway", gateway.base, "--token", GatewayFixture.readToken,
            ])
        #expect(remote.0 == 0, "\(remote.1)")
        for output in [local.1, remote.1] {
            let cliItems = (json(output) as? [String: Any])?["events"] as? [[String: Any]] ?? []
            #expect(
                cliItems.compactMap { $0["replayed_id"] as? String }
                    == items.compactMap { $0["replayed_id"] as? String })
        }
        // debug-event on one of them, through the gateway: the engine's verdict.
        let debug = try runTool(
            cli,
            [
                "debug-event", "--id", events[3].id.lowercasedString, "--gateway", gateway.base, "--token",
                GatewayFixture.readToken,
            ])
        #expect(debug.0 == 0 && debug.1.contains("observer any: MATCHES"), "\(debug.1)")
        #expect(debug.1.contains("observer paid: does not match: the condition is false"), "\(debug.1)")
        #expect(debug.1.contains(#"after.status == 'paid' → false   (after.status = "pending")"#), "\(debug.1)")

        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }

    @Test(
        "the CLI's dlq and status commands, on the configuration and through the gateway, agree with Redis; exit codes"
    )
    func cliCommands() async throws {
        let receiver = try await Receiver { _, _ in .init(status: 400, body: "refused") }
        let observer = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let (worker, workerPort) = try observer.worker()
        try await worker.start(waitForPort: workerPort)
        for index in 0..<3 { try await observer.publish(order(index)) }
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await observer.deadLetters(redis).count == 3 })
        let gateway = try await GatewayFixture.start(observer)
        let cli = try Binaries.path("fraiseql-observer")
        let local = ["--config", observer.configPath]
        let remote = ["--gateway", gateway.base, "--token", GatewayFixture.adminToken]
        for target in [local, remote] {
            let list = try runTool(cli, ["dlq", "list", "--format", "json"] + target)
            #expect(list.0 == 0, "\(list.1)")
            let entries = json(list.1) as? [[String: Any]] ?? []
            #expect(entries.count == 3, "\(list.1)")
            let stats = try runTool(cli, ["dlq", "stats", "--format", "json"] + target)
            let counts = json(stats.1) as? [String: Any]
            #expect(counts?["count"] as? Int == 3 && (counts?["by_reason"] as? [String: Int])?["permanent_error"] == 3)
            let id = try #require(entries.first?["id"] as? String)
            let show = try runTool(cli, ["dlq", "show", id] + target)
            #expect(show.0 == 0 && show.1.contains("reason:       permanent_error"), "\(show.1)")
            let missing = try runTool(cli, ["dlq", "show", "1-1"] + target)
            #expect(missing.0 == 5, "not found: exit 5 (\(missing.1))")
            let status = try runTool(cli, ["status", "--format", "json"] + target)
            #expect(status.0 == 0, "\(status.1)")
            #expect((json(status.1) as? [String: Any])?["observer_dead_letters"] as? Int == 3, "\(status.1)")
        }
        // Remove one locally, one through the gateway: Redis holds one.
        let ids =
            try await redis.execute(
                "XRANGE", [.string(RedisKeys(prefix: observer.keyPrefix).observerDeadLetters), "-", "+"]
            ).array?.compactMap { StreamEntry(reply: $0)?.id } ?? []
        #expect(try runTool(cli, ["dlq", "remove", ids[0]] + local).0 == 0)
        #expect(try runTool(cli, ["dlq", "remove", ids[1]] + remote).0 == 0)
        #expect(try await observer.deadLetters(redis).count == 1)
        #expect(try runTool(cli, ["dlq", "remove", ids[0]] + local).0 == 1, "already gone: exit 1")
        // Tokens: none, wrong, read on an admin call.
        #expect(try runTool(cli, ["dlq", "list", "--gateway", gateway.base]).0 == 4)
        #expect(try runTool(cli, ["dlq", "list", "--gateway", gateway.base, "--token", "nope-nope-nope-nope"]).0 == 4)
        #expect(
            try runTool(cli, ["dlq", "retry", ids[2], "--gateway", gateway.base, "--token", GatewayFixture.readToken]).0
                == 4)
        #expect(try runTool(cli, ["dlq", "list", "--gateway", "http://127.0.0.1:\(try Stack.freePort())"]).0 == 3)
        #expect(try runTool(cli, ["dlq", "list", "--queue", "jobs:nope"] + local).0 == 5)

        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }

    @Test(
        "schemathesis fuzzes the admin API against its OpenAPI document; Chromium renders the status page's numbers; Prometheus scrapes and fires the DLQ alert"
    )
    func openAPIPageAndPrometheus() async throws {
        let receiver = try await Receiver { _, _ in .init(status: 400, body: "refused") }
        let observer = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let (worker, workerPort) = try observer.worker()
        try await worker.start(waitForPort: workerPort)
        let (jobWorker, jobPort) = try Binaries.service("job-worker", config: observer.configPath)
        try await jobWorker.start(waitForPort: jobPort)
        // pg-bridge (publishing into the same stream) and flight-server, so that every service is scraped.
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "invoice")], allowSuperuser: true,
            logger: Logger(label: "tests"))
        let base = try String(contentsOfFile: observer.configPath, encoding: .utf8)
        let bridgeConfig = try Stack.temporaryDirectory().appendingPathComponent("bridge.toml").path
        try
            (base + """

                [postgres]
                url = "\(database.url)"
                [bridge]
                transport_name = "prom-test"
                [[bridge.tables]]
                table = "public.orders"
                entity = "invoice"
                """).write(toFile: bridgeConfig, atomically: true, encoding: .utf8)
        let (bridge, bridgePort) = try Binaries.service("pg-bridge", config: bridgeConfig)
        try await bridge.start(waitForPort: bridgePort)
        let flightConfig = try Stack.temporaryDirectory().appendingPathComponent("flight.toml").path
        try
            (base + """

                [flight]
                listen = "127.0.0.1:\(try Stack.freePort())"
                token = "flight-token-0123456789"
                """).write(toFile: flightConfig, atomically: true, encoding: .utf8)
        let (flight, flightPort) = try Binaries.service("flight-server", config: flightConfig)
        try await flight.start(waitForPort: flightPort)
        let gateway = try await GatewayFixture.start(
            observer, services: [("observer-worker", workerPort), ("job-worker", jobPort)])

        // Prometheus, with the alert rules (their `for:` shortened), scraping both every second.
        let directory = try Stack.temporaryDirectory()
        let rules = try String(
            contentsOf: repositoryRoot.appendingPathComponent("docs/monitoring/alerts.yml"), encoding: .utf8
        )
        .replacingOccurrences(of: #"for: \d+[smh]"#, with: "for: 0s", options: .regularExpression)
        try rules.write(to: directory.appendingPathComponent("alerts.yml"), atomically: true, encoding: .utf8)
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: ["\(directory.path)/alerts.yml"]
        scrape_configs:
          - job_name: metrics-gateway
            static_configs: [{targets: ["127.0.0.1:\(gateway.port)"]}]
          - job_name: observer-worker
            static_configs: [{targets: ["127.0.0.1:\(workerPort)"]}]
          - job_name: job-worker
            static_configs: [{targets: ["127.0.0.1:\(jobPort)"]}]
          - job_name: pg-bridge
            static_configs: [{targets: ["127.0.0.1:\(bridgePort)"]}]
          - job_name: flight-server
            static_configs: [{targets: ["127.0.0.1:\(flightPort)"]}]
        """.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let prometheusPort = try Stack.freePort()
        let prometheus = ServerProcess(
            executable: "prometheus",
            arguments: [
                "--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])
        try await prometheus.start(waitForPort: prometheusPort)
        defer { _ = prometheus.stop() }
        let api = "http://127.0.0.1:\(prometheusPort)/api/v1"
        #expect(
            try await eventually(.seconds(30)) {
                let targets = await httpGet("\(api)/targets")?.1 ?? ""
                return targets.components(separatedBy: #""health":"up""#).count - 1 == 5
            }, "every service and the gateway up")
        for index in 0..<4 { try await observer.publish(order(index)) }
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await observer.deadLetters(redis).count == 4 })
        #expect(
            try await eventually(.seconds(40)) {
                let alerts = await httpGet("\(api)/alerts")?.1 ?? ""
                return alerts.contains(#""alertname":"FraiseQLObserverDLQGrowing""#)
                    && alerts.contains(#""state":"firing""#)
            }, "the DLQ alert fires")
        let query = await httpGet("\(api)/query?query=fraiseql_gateway_observer_dead_letters")?.1 ?? ""
        #expect(query.contains(#""4"]"#), "Prometheus has the gauge: \(query)")
        // What the services export is what docs/monitoring/metrics.md lists (names, types, labels).
        var pages: [String] = []
        try await database.execute("INSERT INTO orders (status) VALUES ('new')")  // no observer takes invoices
        #expect(try await eventually { (try await observer.jetStream.streamInfo(observer.stream).messages) == 5 })
        for (name, port) in [
            ("gateway", gateway.port), ("observer-worker", workerPort), ("job-worker", jobPort),
            ("pg-bridge", bridgePort), ("flight-server", flightPort),
        ] {
            let page = directory.appendingPathComponent("\(name).metrics")
            try (await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? "").write(
                to: page, atomically: true, encoding: .utf8)
            pages.append(page.path)
        }
        let python = ProcessInfo.processInfo.environment["PYTHON_BIN"] ?? "/usr/bin/python3"
        let check = try runTool(
            python, [repositoryRoot.appendingPathComponent("scripts/check-monitoring.py").path, "--scrape"] + pages)
        #expect(check.0 == 0, "\(check.1)")

        // The status page in headless Chromium: the live numbers in the DOM, and a screenshot.
        let artifacts = repositoryRoot.appendingPathComponent(".ci/artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        #expect(
            try await eventually {
                (json(await httpCall("GET", "\(gateway.base)/api/v1/status", token: GatewayFixture.readToken).1)
                    as? [String: Any]).flatMap { ($0["status"] as? [String: Any])?["observer_dead_letters"] as? Int }
                    == 4
            })
        let chromium = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        let dom = try runTool("/usr/bin/chromium", chromium + ["--dump-dom", "\(gateway.base)/"])
        #expect(dom.0 == 0, "\(dom.1.suffix(500))")
        #expect(dom.1.contains("<td>observer</td><td>4</td>"), "the DLQ count: \(dom.1.suffix(3000))")
        #expect(dom.1.contains("<td>observer-worker</td><td class=\"ok\">ready</td>"), "the worker's health")
        #expect(
            dom.1.contains("permanent_error") && dom.1.contains("HTTP 400"), "the latest letters with their reasons")
        #expect(dom.1.contains("stream → workers"), "the consumer's lag")
        let screenshot = artifacts.appendingPathComponent("status-page.png")
        _ = try runTool(
            "/usr/bin/chromium",
            chromium + ["--screenshot=\(screenshot.path)", "--window-size=1280,1400", "\(gateway.base)/"])
        #expect(FileManager.default.fileExists(atPath: screenshot.path))

        // schemathesis: every operation, generated inputs, an admin token: no 5xx, every answer
        // as documented.
        let schemathesis = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent(
            "schemathesis"
        ).path
        let (code, output) = try runTool(
            schemathesis,
            [
                "run", repositoryRoot.appendingPathComponent("docs/openapi/admin-api.yaml").path, "--url", gateway.base,
                "-H", "Authorization: Bearer \(GatewayFixture.adminToken)", "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,missing_required_header,ignored_auth",
                "--max-examples", "40", "--no-color",
            ])
        #expect(code == 0, "\(output.suffix(4000))")
        #expect(output.contains("passed"), "\(output.suffix(2000))")

        #expect(gateway.gateway.stop() == 0)
        #expect(bridge.stop() == 0)
        #expect(flight.stop() == 0)
        #expect(jobWorker.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }
}

extension MetricsGatewayProcessTests {
    @Test(
        "PostgreSQL-only topology: status, dlq, audit and debug-event on the configuration and through the gateway, against the tables"
    )
    func postgresTopology() async throws {
        let healed = Flag()
        let receiver = try await Receiver { request, _ in
            request.path == "/refuse" && !healed.isSet ? .init(status: 400, body: "no") : .init()
        }
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "paid"
                entity = "order"
                operations = ["update"]
                condition = "field_changed_to('status', 'paid')"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/paid"
                [[observers.actions]]
                kind = "search"
                [[observers]]
                name = "refused"
                entity = "order"
                operations = ["delete"]
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/refuse"
                """)
        let (worker, workerPort) = try fixture.worker()
        try await worker.start(waitForPort: workerPort)
        for statement in [
            "INSERT INTO orders (status, total) VALUES ('new', 10), ('new', 20), ('new', 30)",
            "UPDATE orders SET status = 'paid' WHERE id IN (1, 2)", "DELETE FROM orders WHERE id = 3",
        ] {
            try await fixture.database.execute(statement)
        }
        let letters = "SELECT count(*)::int FROM fraiseql_observer.dead_letters"
        #expect(try await eventually { try await fixture.count(letters) == 1 })
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.audit_index") == 2
            })
        // This topology has no Redis: the admin tools' configuration names none.
        let configuration = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            .replacingOccurrences(of: #"\[redis\]\s*\nurl = "[^"]*""#, with: "", options: .regularExpression)
        let path = try Stack.temporaryDirectory().appendingPathComponent("admin.toml").path
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        let observer = ObserverFixture(
            jetStream: try await connectNATS(), stream: "unused", prefix: "unused", keyPrefix: "unused",
            configPath: path)
        let gateway = try await GatewayFixture.start(observer)
        let cli = try Binaries.path("fraiseql-observer")
        let local = ["--config", path]
        let remote = ["--gateway", gateway.base, "--token", GatewayFixture.adminToken]
        let letterID = try await fixture.database.text("SELECT id::text FROM fraiseql_observer.dead_letters")
        for target in [local, remote] {
            let status = try runTool(cli, ["status", "--format", "json"] + target)
            #expect(status.0 == 0, "\(status.1)")
            let fleet = json(status.1) as? [String: Any]
            #expect(
                fleet?["transport"] as? String == "postgres" && fleet?["observer_dead_letters"] as? Int == 1,
                "\(status.1)")
            #expect((fleet?["bridge"] as? [String: Any])?["unpublished_rows"] as? Int == 0, "\(status.1)")
            let text = try runTool(cli, ["status"] + target)
            #expect(text.1.contains("change log (postgres transport): 0 pending"), "\(text.1)")
            let list = try runTool(cli, ["dlq", "list", "--format", "json"] + target)
            let entries = json(list.1) as? [[String: Any]] ?? []
            #expect(entries.compactMap { $0["id"] as? String } == [letterID], "\(list.1)")
            let show = try runTool(cli, ["dlq", "show", letterID] + target)
            #expect(show.1.contains("handler:      refused#0"), "\(show.1)")
            let audit = try runTool(cli, ["audit", "paid", "--entity", "order", "--format", "json"] + target)
            #expect(audit.0 == 0, "\(audit.1)")
            let hits = json(audit.1) as? [[String: Any]] ?? []
            #expect(Set(hits.compactMap { $0["entity_id"] as? String }) == ["1", "2"], "\(audit.1)")
            let none = try runTool(cli, ["audit", "nothing-like-this", "--format", "json"] + target)
            #expect((json(none.1) as? [Any])?.isEmpty == true, "\(none.1)")
            let eventID = try await fixture.database.text(
                "SELECT event_id::text FROM fraiseql_observer.change_log WHERE operation = 'update' ORDER BY id LIMIT 1"
            )
            let debug = try runTool(cli, ["debug-event", "--id", eventID] + target)
            #expect(debug.0 == 0 && debug.1.contains("observer paid: MATCHES"), "\(debug.1)")
            let replay = try runTool(cli, ["replay", "--dry-run"] + target)
            #expect(replay.0 == 2, "replay reads JetStream: refused with the postgres transport (\(replay.1))")
        }
        // A retry from the table through the gateway: the delete's action runs again and succeeds.
        healed.set()
        let retry = try runTool(cli, ["dlq", "retry", letterID] + remote)
        #expect(retry.0 == 0 && retry.1.contains("1 retried"), "\(retry.1)")
        #expect(
            try await eventually { receiver.requests.filter { $0.path == "/refuse" && $0.status == 200 }.count == 1 })
        #expect(try await fixture.count(letters) == 0)

        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
    }
}

extension MetricsGatewayProcessTests {
    @Test(
        "checkpoint: shown with its leader; a reset is refused while a bridge leads, only moves back, and republishes without a duplicate in the stream"
    )
    func checkpointReset() async throws {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [log]
        level = "warning"
        [postgres]
        url = "\(database.url)"
        [nats]
        url = "\(try Stack.url("NATS_URL"))"
        subject_prefix = "\(prefix)"
        [nats.stream]
        name = "\(stream)"
        duplicate_window = "2m"
        [redis]
        url = "\(try Stack.url("REDIS_URL"))"
        [bridge]
        transport_name = "reset-test"
        poll_interval = "100ms"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let cli = try Binaries.path("fraiseql-observer")
        #expect(try runTool(cli, ["install", "--allow-superuser", "--config", path]).0 == 0)
        let (bridge, bridgePort) = try Binaries.service("pg-bridge", config: path)
        try await bridge.start(waitForPort: bridgePort)
        try await database.execute("INSERT INTO orders (status) SELECT 'new' FROM generate_series(1, 5)")
        let checkpointSQL = "SELECT cursor::int FROM fraiseql_observer.checkpoints WHERE transport = 'reset-test'"
        #expect(try await eventually { (try? await database.count(checkpointSQL)) == 5 })
        #expect(try await jetStream.streamInfo(stream).messages == 5)

        let show = try runTool(cli, ["checkpoint", "--format", "json", "--config", path])
        let view = json(show.1) as? [String: Any]
        #expect(view?["cursor"] as? Int == 5 && view?["newest_change"] as? Int == 5, "\(show.1)")
        #expect((view?["leader"] as? [String: Any])?["pid"] as? Int != nil, "the bridge leads: \(show.1)")
        let refused = try runTool(cli, ["checkpoint", "reset", "--to", "2", "--confirm", "--config", path])
        #expect(refused.0 == 2 && refused.1.contains("a bridge leads"), "\(refused.1)")
        #expect(bridge.stop() == 0)
        #expect(
            try await eventually {
                (try? runTool(cli, ["checkpoint", "--config", path]).1.contains("no bridge leads")) == true
            })
        let forward = try runTool(cli, ["checkpoint", "reset", "--to", "9", "--config", path])
        #expect(forward.0 == 2 && forward.1.contains("only moves it back"), "\(forward.1)")
        let dry = try runTool(cli, ["checkpoint", "reset", "--to", "2", "--format", "json", "--config", path])
        #expect((json(dry.1) as? [String: Any])?["rows"] as? Int == 3, "\(dry.1)")
        #expect(try await database.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0)
        let done = try runTool(cli, ["checkpoint", "reset", "--to", "2", "--confirm", "--config", path])
        #expect(done.0 == 0 && done.1.contains("3 change(s) queued"), "\(done.1)")
        #expect(try await database.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 3)
        #expect(try await database.count(checkpointSQL) == 2)
        // The bridge publishes them again; the stream keeps one copy of each (stable event ids).
        try await bridge.start(waitForPort: bridgePort)
        #expect(
            try await eventually {
                try await database.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        #expect(try await eventually { (try? await database.count(checkpointSQL)) == 5 })
        #expect(try await jetStream.streamInfo(stream).messages == 5, "no duplicate in the stream")
        #expect(bridge.stop() == 0)
        try? await jetStream.deleteStream(stream)
    }
}
