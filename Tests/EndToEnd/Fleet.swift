import Config
import Contracts
import Foundation
import JobQueue
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Redis
import Synchronization
import Testing

/// One scenario's whole fleet: its own PostgreSQL, NATS (one node or a cluster of three), Redis
/// and SMTP servers, an HTTP receiver for webhooks and HTTP jobs, and the service binaries
/// (`pg-bridge`, `observer-worker`, `job-worker`) as separate processes with one config file.
/// Every server requires a password, and the signing secret is random: `secretsInLogs()` looks
/// for all of them in everything the services wrote.
final class Fleet: @unchecked Sendable {
    struct Options {
        var bridges = 1
        var workers = 2
        var jobWorkers = 1
        var natsNodes = 1
        var logLevel = "info"
        /// How the receiver answers webhooks and HTTP jobs.
        var respond: @Sendable (Receiver.Request, Int) -> Receiver.Reply = { _, _ in Receiver.Reply() }
        var webhookTimeout = "2s"
        /// TLS to NATS, Redis and PostgreSQL with a self-signed certificate the services trust.
        var tls = false
        /// `postgres`: the PostgreSQL-only topology. The observer-workers claim the change log
        /// themselves (no pg-bridge, no job-worker, no `job` action; NATS and Redis run unused),
        /// and the invariants are read from PostgreSQL instead of the stream and Redis.
        var transport = "nats"
        /// Redis `appendfsync`: `always` unless a scenario runs at another setting.
        var redisFsync = "always"
    }

    var postgresTransport: Bool { options.transport == "postgres" }

    final class Service: @unchecked Sendable {
        let name: String
        let index: Int
        let port: Int
        let process: ServerProcess
        var label: String { "\(name)-\(index)" }

        init(name: String, index: Int, port: Int, process: ServerProcess) {
            self.name = name
            self.index = index
            self.port = port
            self.process = process
        }

        var metricsURL: String { "http://127.0.0.1:\(port)/metrics" }
        var readyURL: String { "http://127.0.0.1:\(port)/health/ready" }

        /// kill -9, then start again; returns how the killed process ended (128 + SIGKILL).
        @discardableResult
        func restart() async throws -> Int32 {
            let status = process.stop(kill: true)
            try await process.start(waitForPort: port)
            return status
        }
    }

    let options: Options
    let directory: URL
    let postgres: PostgresServer
    let nats: NATSServers
    let redis: RedisServer
    let smtp: SMTPPeer
    let receiver: Receiver
    let signingSecret: String
    /// The credential in the Slack-style incoming-webhook URL's path.
    let slackToken = "xoxtoken" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16)
    let configPath: String
    let certificate: (cert: String, key: String)?
    private(set) var services: [Service] = []
    /// What the writers committed, by their own statements' answers.
    let ledger = WriterLedger()
    let stream = "E2E"
    let consumer = "observer-worker"

    /// Secrets every service knows and none may print.
    var secrets: [String] { [postgres.password, redis.password, nats.password, signingSecret, slackToken] }

    init(_ options: Options = Options()) async throws {
        self.options = options
        directory = try Stack.temporaryDirectory()
        certificate = options.tls ? try selfSignedCertificate() : nil
        func secret() -> String { "s3cret" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20) }
        postgres = try PostgresServer(password: secret(), certificate: certificate)
        nats = try await NATSServers(nodes: options.natsNodes, password: secret(), tls: certificate)
        redis = try await RedisServer(password: secret(), certificate: certificate, fsync: options.redisFsync)
        smtp = try await SMTPPeer()
        receiver = try await Receiver(respond: options.respond)
        signingSecret = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        configPath = directory.appendingPathComponent("fraiseql.toml").path
        try configuration().write(toFile: configPath, atomically: true, encoding: .utf8)
        try await database("postgres").execute("CREATE DATABASE app")
        try await database().execute(
            """
            CREATE TABLE orders (id bigserial PRIMARY KEY, writer int NOT NULL, status text NOT NULL,
                total int NOT NULL)
            """)
        // The change log is installed by the product's own command, as an operator would.
        let (code, output) = try await Binaries.run(
            "pg-bridge", ["install", "--allow-superuser", "--config", configPath])
        try #require(code == 0, "pg-bridge install: \(output)")
    }

    func configuration() -> String {
        let tlsSettings =
            certificate.map { certificate in
                (
                    caFile: "tls_ca_file = \"\(certificate.cert)\"",
                    postgres: "?sslmode=verify-full&sslrootcert=\(certificate.cert)"
                )
            } ?? (caFile: "", postgres: "")
        return """
            [log]
            level = "\(options.logLevel)"
            format = "json"
            [nats]
            url = "\(nats.url(scheme: options.tls ? "tls" : "nats"))"
            reconnect_wait = "100ms"
            \(tlsSettings.caFile)
            [nats.stream]
            name = "\(stream)"
            replicas = \(options.natsNodes)
            [redis]
            url = "\(redis.url)"
            \(tlsSettings.caFile)
            [postgres]
            url = "\(postgres.url(database: "app"))\(tlsSettings.postgres)"
            [bridge]
            transport_name = "e2e"
            poll_interval = "200ms"
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            [observer]
            transport = "\(options.transport)"
            consumer = "\(consumer)"
            # What a kill -9 can repeat is what is in flight (docs/operations.md): kept small.
            max_in_flight = 4
            ack_wait = "5s"
            max_deliver = 100
            circuit_reset = "1s"
            shutdown_grace = "2s"
            backoff = { kind = "exponential", base = "100ms", cap = "2s", jitter = 0.2 }
            [jobs]
            queues = ["default"]
            # The receivers are on loopback, which http jobs may not reach unless allowed.
            http_allowed_hosts = ["127.0.0.1"]
            concurrency = 4
            # A receiver failing a third of the time must not exhaust a job's attempts.
            max_attempts = 50
            visibility_timeout = "5s"
            shutdown_grace = "2s"
            backoff = { kind = "exponential", base = "100ms", cap = "2s", jitter = 0.2 }
            [smtp]
            host = "127.0.0.1"
            port = \(smtp.port)
            security = "none"
            from = "fleet@example.com"

            # Every new order: a signed webhook.
            [[observers]]
            name = "created"
            entity = "order"
            operations = ["insert"]
            [[observers.actions]]
            kind = "webhook"
            url = "\(receiver.url)/created"
            signing_secret = "\(signingSecret)"
            timeout = "\(options.webhookTimeout)"
            body = '{"event": "{{event_id}}", "order": {{after.id}}}'

            # Big orders: an e-mail.
            [[observers]]
            name = "big"
            entity = "order"
            operations = ["insert"]
            condition = "after.total >= 950"
            [[observers.actions]]
            kind = "email"
            to = ["ops@example.com"]
            subject = "Big order {{after.id}}"
            body = "Order {{after.id}} event {{event_id}} total {{after.total}}"

            # Paid orders: an HTTP job for job-worker (not in the PostgreSQL-only topology).
            [[observers]]
            name = "paid"
            entity = "order"
            operations = ["update"]
            condition = "field_changed_to('status', 'paid')"
            \(postgresTransport ? "" : """
                [[observers.actions]]
                kind = "job"
                job_kind = "http"
                payload = '{"url": "\(receiver.url)/receipt", "body": {"order": {{after.id}}, "event": "{{event_id}}"}}'
                """)
            # And a Slack message, whose URL carries a token (never logged).
            [[observers.actions]]
            kind = "slack"
            url = "\(receiver.url)/services/T0/B0/\(slackToken)"
            text = "Order {{after.id}} paid (event {{event_id}})"
            """
    }

    deinit {
        for service in services where service.process.isRunning { service.process.stop(kill: true) }
        // FRAISEQL_KEEP_TEST_DIRS=1 keeps the config and the services' logs for a look afterwards.
        if ProcessInfo.processInfo.environment["FRAISEQL_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    // MARK: services

    /// Starts the services and waits until every one reports ready.
    func start() async throws {
        let topology =
            postgresTransport
            ? [("observer-worker", options.workers)]
            : [
                ("pg-bridge", options.bridges), ("observer-worker", options.workers),
                ("job-worker", options.jobWorkers),
            ]
        for (name, count) in topology {
            for index in 0..<count { try await startService(name, index: index) }
        }
        for service in services {
            let ready = try await eventually(.seconds(60)) { await httpGet(service.readyURL)?.0 == 200 }
            try #require(ready, "\(service.label) not ready: \(log(of: service).suffix(2000))")
        }
    }

    @discardableResult
    func startService(_ name: String, index: Int) async throws -> Service {
        let (process, port) = try Binaries.service(
            name, config: configPath, logFile: directory.appendingPathComponent("\(name)-\(index).log"))
        let service = Service(name: name, index: index, port: port, process: process)
        try await service.process.start(waitForPort: port)
        services.append(service)
        return service
    }

    func services(_ name: String) -> [Service] { services.filter { $0.name == name } }

    func log(of service: Service) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(service.label).log"), encoding: .utf8)) ?? ""
    }

    /// The bridge replica holding the lease (its `fraiseql_bridge_leader` gauge is 1).
    func bridgeLeader() async -> Service? {
        for service in services("pg-bridge") where service.process.isRunning {
            if await leaderGauge(service.metricsURL) == 1 { return service }
        }
        return nil
    }

    /// SIGTERM to every service; returns the exit codes by label.
    func stopServices() -> [String: Int32] {
        var codes: [String: Int32] = [:]
        for service in services.reversed() where service.process.isRunning {
            codes[service.label] = service.process.stop()
        }
        return codes
    }

    // MARK: clients of the scenario's servers

    func database(_ name: String = "app") -> TestDatabase {
        let url =
            postgres.url(database: name) + (certificate.map { "?sslmode=verify-full&sslrootcert=\($0.cert)" } ?? "")
        return TestDatabase(url: url, configuration: try! PostgresURL.configuration(url))
    }

    func jetStream() async throws -> JetStream {
        try await connectNATS(
            nats.url(scheme: options.tls ? "tls" : "nats"), reconnectWait: .milliseconds(100),
            tls: certificate.map { TLSFiles(caFile: $0.cert) })
    }

    func redisConnection() throws -> RedisClient {
        var configuration = try RedisClientConfiguration(url: redis.url)
        if let certificate { configuration.tls = TLSFiles(caFile: certificate.cert) }
        return RedisClient(configuration: configuration)
    }

    // MARK: load

    /// `writers` concurrent writers, each committing `rows / writers` orders in transactions of 1 to 5
    /// rows at about `rate` rows/s in total, and marking every 4th order paid (an update). Writers
    /// ride out a PostgreSQL restart by reconnecting: what counts is what PostgreSQL committed.
    func writeLoad(rows: Int, writers: Int = 4, rate: Int = 500, seed: UInt64) async throws {
        let perWriter = rows / writers
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var random = SeededRandom(seed: seed &+ UInt64(writer))
                    var written = 0
                    var connection: PostgresConnection?
                    let logger = Logger(label: "e2e.writer")
                    let clock = ContinuousClock()
                    let start = clock.now
                    let perSecond = Double(rate) / Double(writers)
                    var failures = 0
                    while written < perWriter {
                        let size = min(Int.random(in: 1...5, using: &random), perWriter - written)
                        let totals = (0..<size).map { _ in Int.random(in: 1...1000, using: &random) }
                        do {
                            if connection == nil { connection = try await self.database().connect() }
                            let values = totals.map { "(\(writer), 'new', \($0))" }.joined(separator: ",")
                            // Explicit transactions: an autocommit statement's answer can come
                            // before its implicit commit (a fast shutdown then loses the commit,
                            // not the answer); COMMIT answers after the commit. Recorded only then.
                            try await connection!.checkedQuery("BEGIN", logger: logger)
                            let rows = try await connection!.checkedQuery(
                                PostgresQuery(
                                    unsafeSQL:
                                        "INSERT INTO orders (writer, status, total) VALUES \(values) RETURNING id, total"
                                ),
                                logger: logger
                            ).collect()
                            let inserted = try rows.map { try $0.decode((Int64, Int).self) }
                            try await connection!.checkedQuery("COMMIT", logger: logger)
                            self.ledger.inserted(inserted)
                            let paid = inserted.map(\.0).filter { $0 % 4 == 0 }
                            if !paid.isEmpty {
                                try await connection!.checkedQuery("BEGIN", logger: logger)
                                try await connection!.checkedQuery(
                                    PostgresQuery(
                                        unsafeSQL:
                                            "UPDATE orders SET status = 'paid' WHERE id IN (\(paid.map(String.init).joined(separator: ",")))"
                                    ), logger: logger)
                                try await connection!.checkedQuery("COMMIT", logger: logger)
                                self.ledger.paid(paid)
                            }
                            written += size
                            failures = 0
                        } catch {
                            // PostgreSQL is restarting: reconnect and go on (the rows of a failed
                            // statement were rolled back, or committed: the database is the truth).
                            try? await connection?.close()
                            connection = nil
                            failures += 1
                            self.ledger.failed()
                            try #require(failures < 300, "writer \(writer): PostgreSQL unreachable: \(error)")
                            try await Task.sleep(for: .milliseconds(100))
                            continue
                        }
                        let due = start + .seconds(Double(written) / perSecond)
                        if due > clock.now { try await Task.sleep(until: due) }
                    }
                    try? await connection?.close()
                }
            }
            try await group.waitForAll()
        }
    }

    // MARK: invariants

    /// What PostgreSQL committed, from the application's own table (never the product's).
    func applicationOrders() async throws -> ApplicationOrders {
        let connection = try await database().connect()
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            "SELECT id, total, status = 'paid' FROM orders", logger: Logger(label: "e2e")
        ).collect()
        var orders = ApplicationOrders()
        for row in rows {
            let (id, total, paid) = try row.decode((Int64, Int, Bool).self)
            orders.totals[id] = total
            if paid { orders.paid.insert(id) }
        }
        return orders
    }

    /// Waits until every committed row is in the stream, then reads the whole stream.
    func streamEvents(expected: Int) async throws -> (events: [EntityEvent], undecodable: Int) {
        let jetStream = try await jetStream()
        _ = try await waitForCount(jetStream, stream: stream, atLeast: UInt64(expected), timeout: .seconds(120))
        let messages = try await readStream(
            jetStream, subject: "entity.change.>", expected: expected, timeout: .seconds(60))
        var events: [EntityEvent] = []
        var undecodable = 0
        for message in messages {
            if let event = try? EntityEvent.decode(message.payload) { events.append(event) } else { undecodable += 1 }
        }
        return (events, undecodable)
    }

    /// Waits until nothing is in flight any more: the observer consumer has no pending or
    /// unacknowledged message and the job queue is empty (pending, delayed and unacknowledged).
    func waitForQuiet(timeout: Duration = .seconds(180)) async throws -> Bool {
        if postgresTransport {
            return try await eventually(timeout) {
                (try? await count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending")) == 0
            }
        }
        let jetStream = try await jetStream()
        let queue = JobQueue(redis: try redisConnection())
        return try await eventually(timeout) {
            guard let info = try? await jetStream.consumerInfo(stream: stream, consumer: consumer),
                info.pending == 0, info.ackPending == 0
            else { return false }
            guard let depth = try? await queue.depth("default") else { return false }
            return depth.queued == 0 && depth.running == 0 && depth.delayed == 0
        }
    }

    /// One integer from the scenario's database.
    func count(_ sql: String) async throws -> Int { try await database().count(sql) }

    struct Effects {
        var expected = 0
        var seen = 0
        var raw = 0
        var lost: [String] = []
        /// Effects delivered more than once with different idempotency keys (must be none).
        var inconsistentKeys: [String] = []
        /// Raw duplicates by effect kind.
        var duplicatesByKind: [String: Int] = [:]
        var duplicates: Int { raw - seen }
    }

    /// Matches what the receivers got against what the application's table calls for: one webhook
    /// per order, one e-mail per order with total >= 950, one job delivery and one Slack message per
    /// paid order. Each effect is identified by the order id it carries; duplicates must carry the
    /// same idempotency key (Slack's incoming webhooks have none: its duplicates are only counted).
    func effects(for orders: ApplicationOrders) -> Effects {
        var result = Effects()
        func tally(_ name: String, expected: Set<String>, deliveries: [(effect: String, key: String)]) {
            var keys: [String: Set<String>] = [:]
            for delivery in deliveries { keys[delivery.effect, default: []].insert(delivery.key) }
            let raw = deliveries.filter { expected.contains($0.effect) }.count
            let seen = expected.filter { keys[$0] != nil }.count
            result.expected += expected.count
            result.raw += raw
            result.seen += seen
            result.duplicatesByKind[name] = raw - seen
            result.lost += expected.filter { keys[$0] == nil }.sorted().map { "\(name) \($0)" }
            result.inconsistentKeys += keys.filter { $0.value.count > 1 }.map { "\(name) \($0.key): \($0.value)" }
        }
        let requests = receiver.requests
        func json(_ request: Receiver.Request) -> [String: JSONValue] {
            guard case .object(let object)? = try? FastJSON.parse(request.text) else { return [:] }
            return object
        }
        func order(_ value: JSONValue?) -> String {
            if case .int(let id)? = value { return String(id) }
            return "?"
        }
        tally(
            "webhook", expected: Set(orders.totals.keys.map(String.init)),
            deliveries: requests.filter { $0.path == "/created" && $0.accepted }.map { request in
                (order(json(request)["order"]), request.headers["webhook-id"] ?? "")
            })
        tally(
            "email", expected: Set(orders.totals.filter { $0.value >= 950 }.keys.map(String.init)),
            deliveries: smtp.messages.map { mail in
                let id = mail.data.firstMatch(of: /Order ([0-9]+) event/).map { String($0.1) } ?? "?"
                let messageID = mail.data.firstMatch(of: /Message-ID: (<[^>]+>)/).map { String($0.1) } ?? ""
                return (id, messageID)
            })
        tally(
            "job", expected: postgresTransport ? [] : Set(orders.paid.map(String.init)),
            deliveries: requests.filter { $0.path == "/receipt" && $0.accepted }.map { request in
                (order(json(request)["order"]), request.headers["idempotency-key"] ?? "")
            })
        tally(
            "slack", expected: Set(orders.paid.map(String.init)),
            deliveries: requests.filter { $0.path.hasPrefix("/services/") && $0.accepted }.map { request in
                let text = json(request)["text"]?.stringValue ?? ""
                return (text.firstMatch(of: /Order ([0-9]+) paid/).map { String($0.1) } ?? "?", "")
            })
        return result
    }

    /// What the fleet shows while running: every service's /metrics, the CLI's reports and the
    /// dead letters (observer and job queues), each named.
    func liveOutputs() async throws -> [(String, String)] {
        var outputs: [(String, String)] = []
        for service in services where service.process.isRunning {
            outputs.append((service.label + " /metrics", await httpGet(service.metricsURL)?.1 ?? ""))
        }
        for arguments in [
            ["status"], ["dead-letters", "list", "--count", "1000"], ["jobs", "status"],
            ["jobs", "dlq", "default", "--count", "1000"], ["circuits"],
        ] where !(postgresTransport && arguments.first == "jobs") {
            outputs.append(("fraiseql-observer " + arguments.joined(separator: " "), try cli(arguments)))
        }
        if postgresTransport {
            outputs.append(
                (
                    "fraiseql_observer.dead_letters",
                    try await database().text(
                        "SELECT coalesce(string_agg(d::text, E'\\n'), '') FROM fraiseql_observer.dead_letters d")
                ))
        } else {
            let redis = try redisConnection()
            defer { redis.close() }
            for key in [RedisKeys().observerDeadLetters, RedisKeys().jobs("default").deadLetters] {
                let entries = try await redis.execute("XRANGE", [.string(key), .string("-"), .string("+")])
                outputs.append((key, Self.strings(entries).joined(separator: "\n")))
            }
        }
        return outputs
    }

    static func strings(_ value: RESPValue) -> [String] {
        if let array = value.array { return array.flatMap(strings) }
        return value.string.map { [$0] } ?? []
    }

    /// `fraiseql-observer <arguments> --config …`: stdout and stderr together.
    func cli(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path("fraiseql-observer"))
        process.arguments = arguments + ["--config", configPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Each secret as it could leak: as is, base64, URL-encoded, and a `whsec_` secret's key body.
    var secretForms: [(form: String, name: String)] {
        secrets.flatMap { secret -> [(String, String)] in
            var forms = [
                (secret, "\(secret.prefix(8))…"),
                (Data(secret.utf8).base64EncodedString(), "\(secret.prefix(8))… (base64)"),
                (
                    secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret,
                    "\(secret.prefix(8))… (URL-encoded)"
                ),
            ]
            if secret.hasPrefix("whsec_") {
                let body = String(secret.dropFirst(6))
                forms.append((body, "the whsec_ body"))
                forms.append(
                    (
                        body.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? body,
                        "the whsec_ body (URL-encoded)"
                    ))
            }
            return forms
        }
    }

    /// Every secret found in `outputs` and in the services' logs (read now: after a shutdown they
    /// include what the services printed while stopping), with where.
    func secretsIn(_ outputs: [(String, String)]) -> [String] {
        var found: [String] = []
        let all = outputs + services.map { ($0.label + ".log", log(of: $0)) }
        for (name, text) in all {
            for (form, label) in secretForms where text.contains(form) { found.append("\(label) in \(name)") }
        }
        return found
    }
}

extension JSONValue {
    var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }
}

/// One scenario's figures, printed as one line.
struct Summary: CustomStringConvertible {
    var scenario: String
    /// Inserts and updates the writers' statements answered.
    var writtenInserts: Int
    var writtenUpdates: Int
    /// Rows and paid rows in the application's table.
    var tableRows: Int
    var tablePaid: Int
    /// Events in the stream that belong to a row of the table (nil: no stream, PostgreSQL only).
    var events: Int?
    var missingEvents: Int
    var streamDuplicates: Int
    var effects: Fleet.Effects
    var seconds: Double

    var losses: Int { missingEvents + effects.lost.count }

    var description: String {
        let share = effects.raw == 0 ? 0 : Double(effects.duplicates) * 100 / Double(effects.raw)
        return "e2e \(scenario): rows written by the writers \(writtenInserts) (+\(writtenUpdates) updates),"
            + " in the application's table \(tableRows) (\(tablePaid) paid),"
            + (events.map { " events in stream \($0) (duplicates \(streamDuplicates))," } ?? " no stream,")
            + " effects \(effects.seen)/\(effects.expected),"
            + " raw duplicates \(effects.duplicates) (\(String(format: "%.3f", share))%"
            + (effects.duplicates > 0
                ? ": "
                    + effects.duplicatesByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                        separator: ", ") : "") + "),"
            + " losses \(losses), \(String(format: "%.1f", seconds)) s"
    }
}
