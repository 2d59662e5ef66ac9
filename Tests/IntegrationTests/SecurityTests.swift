import AsyncHTTPClient
import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime
import Synchronization
import Testing

/// Outbound requests whose URL comes from data (`http` jobs) cannot reach the fleet's own network.
@Suite("outbound requests steered by data")
struct OutboundPolicyTests {
    @Test(
        "an http job cannot reach loopback, link-local or private addresses, by any spelling; the refusal is permanent")
    func refusesInternalAddresses() async throws {
        let receiver = try await Receiver()
        let port = try #require(URLComponents(string: receiver.url)?.port)
        // Default configuration: no http_allowed_hosts.
        let worker = try InProcessWorker.start(queues: ["ssrf"], configuration: FleetConfiguration())
        let urls = [
            ("\(receiver.url)/direct", "loopback"),
            ("http://localhost:\(port)/by-name", "loopback"),
            ("http://2130706433:\(port)/decimal", "loopback"),
            ("http://0x7f.1:\(port)/hex", "loopback"),
            ("http://[::ffff:127.0.0.1]:\(port)/mapped", "loopback"),
            ("http://[::1]:\(port)/v6", "loopback"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://10.20.30.40/internal", "private"),
            ("http://192.168.1.1/router", "private"),
        ]
        for (url, _) in urls { try await worker.queue.enqueue(httpJob(queue: "ssrf", url: url, maxAttempts: 3)) }
        #expect(try await eventually { try await worker.queue.depth("ssrf").deadLetters == urls.count })
        let letters = try await worker.queue.deadLetters("ssrf").map(\.letter)
        for (url, range) in urls {
            let letter = letters.first { letter in
                letter.payload.contains(url.replacingOccurrences(of: "/", with: "\\/")) || letter.payload.contains(url)
            }
            #expect(letter?.reason == .permanentError, "\(url)")
            #expect(letter?.attempts == 1, "permanent: not retried (\(url))")
            #expect(letter?.lastError.contains("refused") == true, "\(url): \(letter?.lastError ?? "no letter")")
            #expect(letter?.lastError.contains("a \(range)") == true, "\(url): \(letter?.lastError ?? "")")
            #expect(letter?.lastError.contains("jobs.http_allowed_hosts") == true)
        }
        #expect(receiver.requests.isEmpty, "the loopback receiver must not be hit")
        await worker.stop()
        await receiver.stop()
    }

    @Test("an allow-list admits its hosts, private addresses included, and refuses every other host")
    func allowList() async throws {
        let receiver = try await Receiver()
        let port = try #require(URLComponents(string: receiver.url)?.port)
        var configuration = FleetConfiguration()
        configuration.jobs.httpAllowedHosts = ["localhost", "*.example.com"]
        let worker = try InProcessWorker.start(queues: ["allow"], configuration: configuration)
        try await worker.queue.enqueue(httpJob(queue: "allow", url: "http://localhost:\(port)/listed"))
        try await worker.queue.enqueue(httpJob(queue: "allow", url: "http://127.0.0.1:\(port)/unlisted"))
        try await worker.queue.enqueue(httpJob(queue: "allow", url: "https://api.other.org/unlisted"))
        #expect(try await eventually { receiver.requests.count == 1 })
        #expect(try await eventually { try await worker.queue.depth("allow").deadLetters == 2 })
        #expect(receiver.requests.map(\.path) == ["/listed"])
        for letter in try await worker.queue.deadLetters("allow").map(\.letter) {
            #expect(letter.reason == .permanentError)
            #expect(letter.lastError.contains("is not in jobs.http_allowed_hosts"), "\(letter.lastError)")
        }
        await worker.stop()
        await receiver.stop()
    }

    @Test("address ranges: networks, IPv4 inside IPv6, public addresses")
    func ranges() throws {
        func range(_ text: String) -> String? { IPAddress(text)?.specialRange }
        #expect(range("127.0.0.1") == "loopback" && range("127.255.0.9") == "loopback")
        #expect(range("169.254.169.254") == "link-local" && range("fe80::1") == "link-local")
        #expect(range("10.0.0.1") == "private" && range("172.31.255.255") == "private")
        #expect(range("172.32.0.1") == nil && range("8.8.8.8") == nil && range("2606:4700::1111") == nil)
        #expect(range("::ffff:10.1.1.1") == "private" && range("64:ff9b::7f00:1") == "loopback")
        #expect(range("fd12::1") == "private (unique local)" && range("100.100.0.1") == "shared (carrier NAT)")
        #expect(IPNetwork("10.0.0.0/8")?.contains(IPAddress("10.9.8.7")!) == true)
        #expect(IPNetwork("10.0.0.0/8")?.contains(IPAddress("11.0.0.1")!) == false)
        #expect(IPNetwork("2001:db8::/33")?.contains(IPAddress("2001:db8:7fff::1")!) == true)
        #expect(IPNetwork("2001:db8::/33")?.contains(IPAddress("2001:db8:8000::1")!) == false)
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("nope") == nil)
    }

    @Test("a malformed allow-list entry stops job-worker with exit 2, naming the entry")
    func badEntry() async throws {
        let path = try jobWorkerConfig(prefix: Stack.unique("jq") + ":")
        // The environment overrides the file's list.
        let (status, errors) = try await Binaries.run(
            "job-worker", ["--config", path],
            environment: ["FRAISEQL_JOBS_HTTP_ALLOWED_HOSTS": "ok.example.com,10.0.0.0/99"])
        #expect(status == 2, "\(errors)")
        #expect(errors.contains("jobs.http_allowed_hosts[1]"), "\(errors)")
    }
}

/// The capture trigger runs with the rights of a NOLOGIN role that can only append to the change log.
@Suite("capture trigger privileges", .serialized)
struct CapturePrivilegeTests {
    /// A connection to `database` as `role` (trust authentication on the test server).
    static func connect(_ database: TestDatabase, as role: String) async throws -> PostgresConnection {
        let url = database.url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@")
        return try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(url), id: Int.random(in: 1...1_000_000),
            logger: Logger(label: "tests"))
    }

    static func text(_ connection: PostgresConnection, _ sql: String) async throws -> String? {
        var result: String?
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "tests"))
            .decode(String?.self)
        {
            result = value
        }
        return result
    }

    static func config(_ database: TestDatabase, role: String, captureRole: String) throws -> String {
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [postgres]
        url = "\(database.url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@"))"
        [bridge]
        capture_role = "\(captureRole)"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "install as an unprivileged role: the trigger runs as a NOLOGIN role, PUBLIC cannot call it, and a cast the table owner defines cannot escalate"
    )
    func unprivilegedInstall() async throws {
        let database = try await TestDatabase.create()
        let suffix = Stack.unique("r")
        let (app, fleet, capture) = ("app_\(suffix)", "fleet_\(suffix)", "capture_\(suffix)")
        let databaseName = try #require(URLComponents(string: database.url)?.path.dropFirst())
        // The application's owner and the fleet's role: neither is a superuser.
        for statement in [
            "CREATE ROLE \(app) LOGIN", "CREATE ROLE \(fleet) LOGIN CREATEROLE",
            "GRANT CREATE ON DATABASE \(databaseName) TO \(fleet)", "GRANT CREATE ON SCHEMA public TO \(app)",
        ] {
            try await database.execute(statement)
        }
        let owner = try await Self.connect(database, as: app)
        defer { Task { try? await owner.close() } }
        // A type whose cast to json (used by to_jsonb) tries to make its owner a superuser and
        // records the role it ran as.
        for statement in [
            // An enum: to_jsonb uses a user type's cast to json (composite types are walked instead).
            "CREATE TYPE mood AS ENUM ('calm', 'cross')",
            """
            CREATE FUNCTION mood_json(mood) RETURNS json LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM set_config('fraiseql_test.cast_ran_as', current_user::text, false);
                BEGIN
                    EXECUTE 'ALTER ROLE \(app) SUPERUSER';
                    PERFORM set_config('fraiseql_test.escalation', 'succeeded', false);
                EXCEPTION WHEN OTHERS THEN
                    PERFORM set_config('fraiseql_test.escalation', SQLERRM, false);
                END;
                RETURN to_json($1::text);
            END $$
            """,
            "CREATE CAST (mood AS json) WITH FUNCTION mood_json(mood)",
            "CREATE TABLE orders (id serial PRIMARY KEY, status text, feeling mood)",
            "GRANT SELECT, TRIGGER ON orders TO \(fleet)",
        ] {
            try await owner.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "tests"))
        }

        let path = try Self.config(database, role: fleet, captureRole: capture)
        let (status, errors) = try await Binaries.run("pg-bridge", ["install", "--config", path])
        try #require(status == 0, "install as the fleet's role: \(errors)")
        #expect(
            try await database.count(
                "SELECT count(*)::int FROM pg_roles WHERE rolname = '\(capture)' AND NOT rolcanlogin") == 1)
        #expect(
            try await database.count(
                "SELECT count(*)::int FROM pg_proc WHERE proname = 'capture' AND pg_get_userbyid(proowner) = '\(capture)'"
            )
                == 1)
        #expect(
            try await database.count(
                "SELECT has_function_privilege('\(app)', 'fraiseql_observer.capture()', 'EXECUTE')::int") == 0,
            "PUBLIC may not call the trigger function")
        #expect(
            try await database.count(
                "SELECT has_table_privilege('\(capture)', 'fraiseql_observer.change_log', 'DELETE')::int") == 0)

        // The application writes as its own role.
        try await owner.query(
            "INSERT INTO orders (status, feeling) VALUES ('new', 'calm')", logger: Logger(label: "tests"))
        #expect(try await Self.text(owner, "SELECT current_setting('fraiseql_test.cast_ran_as', true)") == capture)
        let escalation = try await Self.text(owner, "SELECT current_setting('fraiseql_test.escalation', true)")
        #expect(
            escalation != nil && escalation != "succeeded", "the cast's ALTER ROLE was refused: \(escalation ?? "nil")")
        #expect(try await database.count("SELECT rolsuper::int FROM pg_roles WHERE rolname = '\(app)'") == 0)
        #expect(
            try await database.count(
                "SELECT count(*)::int FROM fraiseql_observer.change_log WHERE after ->> 'feeling' = 'calm' AND operation = 'insert'"
            )
                == 1, "the row is captured")
        #expect(try await database.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 1)

        // Installing again as the same role is safe.
        let (again, againErrors) = try await Binaries.run("pg-bridge", ["install", "--config", path])
        #expect(again == 0, "\(againErrors)")
    }

    @Test("install refuses a superuser connection unless --allow-superuser, and a capture role that can log in")
    func refusals() async throws {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        let loginRole = "capture_login_\(Stack.unique("r"))"
        let path = try Self.config(database, role: "postgres", captureRole: Stack.unique("capture"))
        let (status, errors) = try await Binaries.run("pg-bridge", ["install", "--config", path])
        #expect(status == 2 && errors.contains("refusing to install as the superuser 'postgres'"), "\(errors)")
        #expect(
            try await database.count("SELECT count(*)::int FROM pg_namespace WHERE nspname = 'fraiseql_observer'") == 0)
        let (allowed, allowedErrors) = try await Binaries.run(
            "pg-bridge", ["install", "--allow-superuser", "--config", path])
        #expect(allowed == 0, "\(allowedErrors)")

        try await database.execute("CREATE ROLE \(loginRole) LOGIN")
        let loginPath = try Self.config(database, role: "postgres", captureRole: loginRole)
        let (loginStatus, loginErrors) = try await Binaries.run(
            "pg-bridge", ["install", "--allow-superuser", "--config", loginPath])
        #expect(loginStatus == 2 && loginErrors.contains("bridge.capture_role"), "\(loginErrors)")
    }
}

/// What leaves the fleet as text: Slack messages, Elasticsearch bulk lines, e-mail.
@Suite("outbound text")
struct OutboundTextTests {
    @Test("Slack text escapes row data's & < > and a pretty-printed event cannot inject Elasticsearch bulk lines")
    func slackAndBulk() async throws {
        let slack = try await Receiver()
        let search = try await Receiver { _, _ in .init(body: #"{"errors":false,"items":[{"index":{"status":201}}]}"#) }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "notes"
                entity = "order"
                [[observers.actions]]
                kind = "slack"
                url_env = "TEST_SLACK_URL"
                text = "<https://shop.example/orders/{{after.id}}|Order {{after.id}}>: {{after.note}}"
                [[observers.actions]]
                kind = "search"
                """,
            extra: """
                [search]
                elasticsearch_url_env = "TEST_ES_URL"
                """)
        let (worker, port) = try fixture.worker(environment: [
            "TEST_SLACK_URL": "\(slack.url)/services/T0/B0/secret", "TEST_ES_URL": search.url,
        ])
        try await worker.start(waitForPort: port)
        var event = order(7)
        event.after?["note"] = .string("<!channel> & <https://evil.example|click> {\"index\":{}}\n{\"delete\":{}}")
        // Published pretty-printed, as another publisher might: line breaks between the tokens.
        let encoder = WireFormat.encoder()
        encoder.outputFormatting = [.prettyPrinted]
        try await fixture.publishRaw(
            String(decoding: try encoder.encode(event), as: UTF8.self), subject: "order.update")
        #expect(try await eventually { slack.count == 1 && search.count == 1 })

        let text = try #require(try FastJSON.parse(slack.requests[0].text)[path: "text"]?.stringValue)
        #expect(
            text
                == "<https://shop.example/orders/7|Order 7>: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; {\"index\":{}}\n{\"delete\":{}}",
            "the template's own link stays a link; the row's text cannot mention or link")
        let lines = search.requests[0].text.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 2, "one action line and one document line: \(search.requests[0].text)")
        #expect(try EntityEvent.decode(Array(lines[1].utf8)) == event)
        #expect(worker.stop() == 0)
        await slack.stop()
        await search.stop()
        await fixture.cleanUp()
    }

    @Test("e-mail bodies get CR LF for every line break, lone CR and LF included; a relay receives the lines")
    func smtpLineBreaks() async throws {
        let message = EmailMessage(
            from: "a@example.com", to: ["b@example.com"], subject: "s", body: "one\rtwo\nthree\r\n.four\n\r",
            messageID: "m@fraiseql")
        let rendered = Array(message.rendered().utf8)
        for (index, byte) in rendered.enumerated() {
            if byte == UInt8(ascii: "\r") {
                #expect(index + 1 < rendered.count && rendered[index + 1] == UInt8(ascii: "\n"))
            }
            if byte == UInt8(ascii: "\n") { #expect(index > 0 && rendered[index - 1] == UInt8(ascii: "\r")) }
        }
        #expect(message.rendered().hasSuffix("\r\n\r\none\r\ntwo\r\nthree\r\n.four\r\n\r\n"))
        let peer = try await SMTPPeer()
        defer { peer.stop() }
        try await SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: peer.port, security: .none)).send(message)
        let mail = try #require(peer.messages.first)
        #expect(mail.data.contains("one") && mail.data.contains("two") && mail.data.contains("\n.four"))
    }

    @Test("SMTP errors name a refused or malformed recipient by position, never by address")
    func recipientsByPosition() async throws {
        let peer = try await SMTPPeer()
        defer { peer.stop() }
        let client = SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: peer.port, security: .none))
        func failure(_ to: [String]) async -> DeliveryError? {
            do {
                try await client.send(
                    EmailMessage(from: "a@example.com", to: to, subject: "s", body: "b", messageID: "m@fraiseql"))
                return nil
            } catch { return error }
        }
        let refused = await failure(["ok@example.com", "reject.ada@example.com"])
        #expect(refused?.message.contains("recipient 2 of 2") == true, "\(refused?.message ?? "sent")")
        #expect(refused?.message.contains("ada") == false)
        let malformed = await failure(["grace hopper@example.com"])
        #expect(malformed?.message == "recipient 1 of 1 is not an e-mail address")
    }

    @Test("SMTP credentials are never sent unencrypted to a relay that is not on loopback")
    func smtpAuthNeedsTLS() async throws {
        let client = SMTPClient(
            settings: SMTPSettings(
                host: "192.0.2.25", port: 25, security: .none, username: "fleet", password: "hunter2",
                timeout: .seconds(5)))
        let started = ContinuousClock.now
        do {
            try await client.send(
                EmailMessage(from: "a@example.com", to: ["b@example.com"], subject: "s", body: "b", messageID: "m"))
            Issue.record("sent")
        } catch {
            #expect(error.class == .permanent)
            #expect(error.message.contains("refusing to send SMTP credentials unencrypted to 192.0.2.25"))
        }
        #expect(ContinuousClock.now - started < .seconds(2), "refused before connecting")
    }

    @Test("a server that sends an endless reply line is cut off at the client's bound, not buffered")
    func smtpReplyBound() async throws {
        let port = try Stack.freePort()
        let server = ServerProcess(
            executable: Stack.python,
            arguments: [
                "-c",
                """
                import socket, threading, time
                def serve(c):
                    try:
                        c.sendall(b"220 " + b"x" * 1000000)
                        time.sleep(30)
                    except Exception:
                        pass
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", \(port))); s.listen(4)
                # A thread per connection: the start-up probe's connection must not hold up the client's.
                while True:
                    c, _ = s.accept()
                    threading.Thread(target=serve, args=(c,), daemon=True).start()
                """,
            ])
        try await server.start(waitForPort: port)
        defer { _ = server.stop() }
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: port, security: .none, timeout: .seconds(20)))
        let started = ContinuousClock.now
        do {
            try await client.send(
                EmailMessage(from: "a@example.com", to: ["b@example.com"], subject: "s", body: "b", messageID: "m"))
            Issue.record("sent")
        } catch {
            #expect(error.message.contains("past the client's bounds"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "not a timeout")
    }
}

/// The ops port and what services say about their connections.
@Suite("ops port and transport security")
struct OpsSecurityTests {
    @Test("a storm of /health/ready requests runs the readiness checks once per second")
    func readinessIsCached() async throws {
        let calls = Atomic(0)
        let check = ReadinessCheck("slow-database") {
            calls.add(1, ordering: .relaxed)
            try? await Task.sleep(for: .milliseconds(100))
            return true
        }
        let portBox = Mutex<Int?>(nil)
        var logger = Logger(label: "tests.ops")
        logger.logLevel = .warning
        let server = OpsServer(
            address: ListenAddress(host: "127.0.0.1", port: 0), serviceName: "probe", registry: nil,
            readiness: [check], logger: logger, onListening: { port in portBox.withLock { $0 = port } })
        let task = Task { try await server.run() }
        defer { task.cancel() }
        #expect(try await eventually { portBox.withLock { $0 } != nil })
        let port = try #require(portBox.withLock { $0 })
        let answers = await withTaskGroup(of: Int?.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let response = try? await HTTPDelivery.sharedClient.execute(
                        HTTPClientRequest(url: "http://127.0.0.1:\(port)/health/ready"), timeout: .seconds(10))
                    return response.map { Int($0.status.code) }
                }
            }
            var answers: [Int?] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.allSatisfy { $0 == 200 }, "\(answers.filter { $0 != 200 })")
        #expect(
            calls.load(ordering: .relaxed) <= 2, "checks ran \(calls.load(ordering: .relaxed)) times for 200 requests")
        let before = calls.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await httpGet("http://127.0.0.1:\(port)/health/ready")?.0 == 200)
        #expect(calls.load(ordering: .relaxed) == before + 1, "an answer is at most a second old")
    }

    @Test("a service warns and sets fraiseql_tls_unverified for a server on the network without verified TLS")
    func unverifiedTLSIsReported() async throws {
        func start(_ postgresURL: String) async throws -> (ServerProcess, Int, URL) {
            let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
            try """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            [nats.stream]
            name = "\(Stack.unique("TLS").uppercased())"
            [postgres]
            url = "\(postgresURL)"
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            """.write(toFile: path, atomically: true, encoding: .utf8)
            let log = try Stack.temporaryDirectory().appendingPathComponent("bridge.log")
            let (process, port) = try Binaries.service("pg-bridge", config: path, logFile: log)
            try await process.start(waitForPort: port)
            return (process, port, log)
        }
        // 192.0.2.0/24 is reserved for documentation: nothing answers, the service starts not ready.
        let (plain, plainPort, plainLog) = try await start("postgres://fleet@192.0.2.10:5432/app")
        let metrics = await httpGet("http://127.0.0.1:\(plainPort)/metrics")?.1 ?? ""
        #expect(metrics.contains(#"fraiseql_tls_unverified{server="postgres",host="192.0.2.10"} 1"#), "\(metrics)")
        #expect(
            metrics.contains(#"fraiseql_tls_unverified{server="nats",host="127.0.0.1"} 0"#), "loopback is not exposed")
        _ = plain.stop()
        let log = try String(contentsOf: plainLog, encoding: .utf8)
        #expect(log.contains("without a verified TLS certificate") && log.contains("sslmode=prefer"), "\(log)")

        let (verified, verifiedPort, verifiedLog) = try await start(
            "postgres://fleet@192.0.2.10:5432/app?sslmode=verify-full")
        let verifiedMetrics = await httpGet("http://127.0.0.1:\(verifiedPort)/metrics")?.1 ?? ""
        #expect(verifiedMetrics.contains(#"fraiseql_tls_unverified{server="postgres",host="192.0.2.10"} 0"#))
        _ = verified.stop()
        #expect(!(try String(contentsOf: verifiedLog, encoding: .utf8)).contains("without a verified TLS certificate"))
    }

    @Test("URLs in errors keep the host and the first path segment only")
    func redaction() {
        #expect(
            HTTPDelivery.redact("https://user:pw@hooks.zapier.com/hooks/catch/123/abcdef/?token=x")
                == "https://hooks.zapier.com/hooks/***?***")
        #expect(
            HTTPDelivery.redact("https://hooks.slack.com/services/T0/B0/xyz") == "https://hooks.slack.com/services/***")
        #expect(HTTPDelivery.redact("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook")
        #expect(HTTPDelivery.redact("http://127.0.0.1:8080/a/b", keepPath: false) == "http://127.0.0.1:8080/***")
    }
}

/// What the services write to their logs at the default level.
@Suite("logs hold no data")
struct LogContentTests {
    @Test("at info level no row content, rendered payload or e-mail recipient reaches the log, failures included")
    func infoLogsHoldNoData() async throws {
        let smtp = try await SMTPPeer()
        defer { smtp.stop() }
        let receiver = try await Receiver { request, _ in
            request.path == "/fail" ? .init(status: 400, body: "rejected") : .init()
        }
        let marker = "rowdata" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "notes"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/ok"
                body = '{"note": "{{after.note}}"}'
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/fail"
                body = '{"note": "{{after.note}}"}'
                [[observers.actions]]
                kind = "email"
                to = "{{after.email}}"
                subject = "About {{after.note}}"
                body = "{{after.note}}"
                [[observers.actions]]
                kind = "email"
                to = "reject.{{after.note}}@example.com"
                subject = "s"
                body = "{{after.note}}"
                """,
            extra: """
                [smtp]
                host = "127.0.0.1"
                port = \(smtp.port)
                security = "none"
                """)
        let log = try Stack.temporaryDirectory().appendingPathComponent("worker.log")
        let (worker, port) = try Binaries.service(
            "observer-worker", config: fixture.configPath, environment: ["FRAISEQL_LOG_LEVEL": "info"], logFile: log)
        try await worker.start(waitForPort: port)
        var event = order(7)
        event.after?["note"] = .string(marker)
        event.after?["email"] = .string("person.\(marker)@example.com")
        try await fixture.publish(event)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(
            try await eventually {
                let letters = try await fixture.deadLetters(redis).count
                return smtp.messages.count == 1 && receiver.count >= 2 && letters >= 1
            })
        #expect(receiver.requests.contains { $0.path == "/ok" && $0.text.contains(marker) }, "the data did flow")
        #expect(worker.stop() == 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("service starting") && text.contains("dead-letter"), "the log has content: \(text)")
        #expect(!text.contains(marker), "row data in the log at info level: \(text)")
        await receiver.stop()
        await fixture.cleanUp()
    }
}
