import Contracts
import Delivery
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
    @Test("an http job cannot reach loopback, link-local or private addresses, by any spelling; the refusal is permanent")
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
    func badEntry() throws {
        let path = try jobWorkerConfig(prefix: Stack.unique("jq") + ":")
        // The environment overrides the file's list.
        let (status, errors) = try Binaries.run(
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
        let (status, errors) = try Binaries.run("pg-bridge", ["install", "--config", path])
        try #require(status == 0, "install as the fleet's role: \(errors)")
        #expect(try await database.count("SELECT count(*)::int FROM pg_roles WHERE rolname = '\(capture)' AND NOT rolcanlogin") == 1)
        #expect(
            try await database.count(
                "SELECT count(*)::int FROM pg_proc WHERE proname = 'capture' AND pg_get_userbyid(proowner) = '\(capture)'")
                == 1)
        #expect(
            try await database.count(
                "SELECT has_function_privilege('\(app)', 'fraiseql_observer.capture()', 'EXECUTE')::int") == 0,
            "PUBLIC may not call the trigger function")
        #expect(
            try await database.count(
                "SELECT has_table_privilege('\(capture)', 'fraiseql_observer.change_log', 'DELETE')::int") == 0)

        // The application writes as its own role.
        try await owner.query("INSERT INTO orders (status, feeling) VALUES ('new', 'calm')", logger: Logger(label: "tests"))
        #expect(try await Self.text(owner, "SELECT current_setting('fraiseql_test.cast_ran_as', true)") == capture)
        let escalation = try await Self.text(owner, "SELECT current_setting('fraiseql_test.escalation', true)")
        #expect(escalation != nil && escalation != "succeeded", "the cast's ALTER ROLE was refused: \(escalation ?? "nil")")
        #expect(try await database.count("SELECT rolsuper::int FROM pg_roles WHERE rolname = '\(app)'") == 0)
        #expect(
            try await database.count(
                "SELECT count(*)::int FROM fraiseql_observer.change_log WHERE after ->> 'feeling' = 'calm' AND operation = 'insert'")
                == 1, "the row is captured")
        #expect(try await database.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 1)

        // Installing again as the same role is safe.
        let (again, againErrors) = try Binaries.run("pg-bridge", ["install", "--config", path])
        #expect(again == 0, "\(againErrors)")
    }

    @Test("install refuses a superuser connection unless --allow-superuser, and a capture role that can log in")
    func refusals() async throws {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        let loginRole = "capture_login_\(Stack.unique("r"))"
        let path = try Self.config(database, role: "postgres", captureRole: Stack.unique("capture"))
        let (status, errors) = try Binaries.run("pg-bridge", ["install", "--config", path])
        #expect(status == 2 && errors.contains("refusing to install as the superuser 'postgres'"), "\(errors)")
        #expect(try await database.count("SELECT count(*)::int FROM pg_namespace WHERE nspname = 'fraiseql_observer'") == 0)
        let (allowed, allowedErrors) = try Binaries.run("pg-bridge", ["install", "--allow-superuser", "--config", path])
        #expect(allowed == 0, "\(allowedErrors)")

        try await database.execute("CREATE ROLE \(loginRole) LOGIN")
        let loginPath = try Self.config(database, role: "postgres", captureRole: loginRole)
        let (loginStatus, loginErrors) = try Binaries.run(
            "pg-bridge", ["install", "--allow-superuser", "--config", loginPath])
        #expect(loginStatus == 2 && loginErrors.contains("bridge.capture_role"), "\(loginErrors)")
    }
}
