import Contracts
import FleetCore
import Foundation
import Runtime
import Testing

@testable import Config

func load(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> FleetConfiguration {
    try FleetConfiguration(reader: ConfigFile(toml: text, environment: environment, file: "fraiseql.toml"))
}

func configError(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try load(text, environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    static let example = """
        [nats]
        url = "nats://127.0.0.1:4222"
        subject_prefix = "entity.change"
        [nats.stream]
        name = "ENTITY_CHANGES"
        max_age = "7d"
        duplicate_window = "5m"
        replicas = 1

        [redis]
        url = "redis://127.0.0.1:6379"
        key_prefix = "fraiseql:"

        [postgres]
        url = "postgres://app@127.0.0.1:5432/app"

        [bridge]
        transport_name = "pg-main"
        batch_size = 500
        poll_interval = "1s"
        retention = "3d"
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        id_column = "id"

        [observer]
        transport = "nats"
        consumer = "observer-worker"
        max_in_flight = 256
        max_deliver = 8
        backoff = { kind = "exponential", base = "500ms", cap = "5m", jitter = 0.2 }
        dedup_window = "10m"

        [[observers]]
        name = "paid-order-webhook"
        entity = "order"
        operations = ["update"]
        condition = "field_changed_to('status', 'paid') && after.total > 50"
        [[observers.actions]]
        kind = "webhook"
        url_env = "ORDER_WEBHOOK_URL"
        signing_secret_env = "ORDER_WEBHOOK_SECRET"
        body = '{"order": {{after.id}}, "total": {{after.total}}}'
        timeout = "5s"

        [jobs]
        queues = ["default"]
        concurrency = 32
        visibility_timeout = "60s"

        [flight]
        listen = "0.0.0.0:8815"
        batch_rows = 8192

        [metrics]
        listen = "0.0.0.0:9090"
        """

    @Test("the ARCHITECTURE.md example loads with the values it sets")
    func example() throws {
        let configuration = try load(Self.example)
        #expect(configuration.nats.stream.maxAge == .seconds(7 * 86_400))
        #expect(configuration.nats.stream.duplicateWindow == .seconds(300))
        #expect(configuration.bridge.tables.first?.entity == "order")
        #expect(
            configuration.observer.backoff
                == BackoffPolicy(kind: .exponential, baseMilliseconds: 500, capMilliseconds: 300_000, jitter: 0.2))
        #expect(configuration.observers.first?.operations == [.update])
        #expect(configuration.observers.first?.actions.first?.kind == "webhook")
        #expect(configuration.observers.first?.actions.first?.settings["timeout"] == .string("5s"))
        #expect(configuration.flight.address == ListenAddress(host: "0.0.0.0", port: 8815))
        #expect(configuration.jobs.visibilityTimeout == .seconds(60))
    }

    @Test("defaults apply to an empty file")
    func defaults() throws {
        let configuration = try load("")
        #expect(configuration.nats.url == "nats://127.0.0.1:4222")
        #expect(configuration.nats.stream.name == "ENTITY_CHANGES")
        #expect(configuration.observer.maxDeliver == 16)
        #expect(configuration.metrics.address.port == 9090)
    }

    @Test("an environment variable overrides a file value")
    func environmentOverride() throws {
        let configuration = try load(
            "[nats]\nurl = \"nats://file:4222\"\n[nats.stream]\nreplicas = 1\n",
            environment: [
                "FRAISEQL_NATS_URL": "nats://env:4222", "FRAISEQL_NATS_STREAM_REPLICAS": "3",
                "FRAISEQL_OBSERVER_MAX_DELIVER": "12", "FRAISEQL_JOBS_QUEUES": "a, b",
                "FRAISEQL_NATS_STREAM_MAX_AGE": "2h",
            ])
        #expect(configuration.nats.url == "nats://env:4222")
        #expect(configuration.nats.stream.replicas == 3)
        #expect(configuration.observer.maxDeliver == 12)
        #expect(configuration.jobs.queues == ["a", "b"])
        #expect(configuration.nats.stream.maxAge == .seconds(7200))
    }

    @Test("nats.url may carry credentials: url_env and url_file read it like every other secret")
    func natsURLSecret() throws {
        let fromEnvironment = try load(
            "[nats]\nurl_env = \"NATS_CREDENTIAL_URL\"\n", environment: ["NATS_CREDENTIAL_URL": "nats://u:p@n1:4222"])
        #expect(fromEnvironment.nats.url == "nats://u:p@n1:4222")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nats-url-\(UUID().uuidString)")
        try "nats://u:p@n2:4222\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try load("[nats]\nurl_file = \"\(file.path)\"\n").nats.url == "nats://u:p@n2:4222")
        #expect(configError("[nats]\nurl_env = \"NATS_MISSING_VARIABLE\"\n")?.key == "nats.url_env")
    }

    @Test("table headers TOMLKit's parser would abort on are refused as bad TOML with their line (found by make fuzz)")
    func headersThatAbortTheParser() throws {
        for text in [
            "[#x]\n", "x = 1\n[\n", "[[ =]]\n", "a = 1\n\n  [!table]\n", "[# T'e demo config\n[# more",
            "\u{FEFF}[.ats]\nurl = 1\n", "[\u{E9}t\u{E9}]\n",
        ] {
            let error = configError(text)
            #expect(
                error?.message.contains("invalid TOML") == true,
                "\(text.debugDescription): \(String(describing: error))")
            #expect(error?.line != nil)
        }
        #expect(configError("x = 1\n[\n")?.line == 2)
        // Brackets inside values, comments and strings are not headers.
        let valid = #"""
            [log]
            level = "info" # [#not a header]
            [observer]
            max_in_flight = 4
            [[observers]]
            name = "a"
            entity = "order"
            condition = '''
            [#still a string]'''
            """#
        #expect(
            configError(valid)?.message.contains("a table header's key") != true,
            "\(String(describing: configError(valid)))")
        #expect(TOMLHeaderCheck.firstBadHeader("x = [\n  [1, 2],\n  [#c\n]\n") == nil)
        #expect(TOMLHeaderCheck.firstBadHeader("[ \"quoted\" ]\ns = \"\"\"\n[#\n\"\"\"\n") == nil)
    }

    @Test("a bad environment value names the variable")
    func badEnvironment() throws {
        let error = try #require(configError("", environment: ["FRAISEQL_OBSERVER_MAX_DELIVER": "many"]))
        #expect(error.key == "observer.max_deliver")
        #expect(error.description.contains("FRAISEQL_OBSERVER_MAX_DELIVER"))
    }

    @Test(
        "errors name the key and the line",
        arguments: [
            ("[nats]\nurl = 5\n", "nats.url", 2, "expected a string"),
            ("[nats]\n\n[nats.stream]\nmax_age = \"7 days\"\n", "nats.stream.max_age", 4, "duration"),
            ("[observer]\nmax_deliver = 0\n", "observer.max_deliver", 2, "out of range"),
            ("[observer]\ndedup_window = \"0s\"\n", "observer.dedup_window", 2, "at least 1s"),
            ("[observer]\ntransport = \"kafka\"\n", "observer.transport", 2, "not one of"),
            ("[observer]\nshutdown_grace = \"20s\"\n", "observer.shutdown_grace", 2, "at most 15s"),
            ("[jobs]\nshutdown_grace = \"1m\"\n", "jobs.shutdown_grace", 2, "at most 15s"),
            (
                "[observer]\ndedup_window = \"1h\"\ndone_ttl = \"30m\"\n", "observer.done_ttl", 3,
                "at least dedup_window"
            ),
            ("[nats]\nurll = \"x\"\n", "nats.urll", 2, "unknown key"),
            ("[natz]\nurl = \"x\"\n", "natz.url", 2, "unknown key"),
            (
                "[bridge]\n[[bridge.tables]]\ntable = \"t\"\nentity = \"line item\"\n", "bridge.tables[0].entity", 4,
                "subject token"
            ),
            (
                "[[observers]]\nname = \"a\"\nentity = \"order\"\n[[observers.actions]]\nkind = \"fax\"\n",
                "observers[0].actions[0].kind", 5, "not one of"
            ),
            (
                "[[observers]]\nname = \"a\"\nentity = \"order\"\noperations = [\"upsert\"]\n[[observers.actions]]\nkind = \"log\"\n",
                "observers[0].operations", 4, "upsert"
            ),
            (
                "[[observers]]\nname = \"a\"\nentity = \"o\"\n[[observers.actions]]\nkind = \"log\"\n[[observers]]\nname = \"b\"\nentity = \"o\"\nbogus = 1\n[[observers.actions]]\nkind = \"log\"\n",
                "observers[1].bogus", 9, "unknown key"
            ),
            (
                "[[observers]]\nname = \"a\"\nentity = \"o\"\non_failure = \"ignore\"\n[[observers.actions]]\nkind = \"log\"\n",
                "observers[0].on_failure", 4, "not one of"
            ),
            (
                "[[observers]]\nname = \"a\"\nentity = \"o\"\nmax_attempts = 0\n[[observers.actions]]\nkind = \"log\"\n",
                "observers[0].max_attempts", 4, "out of range"
            ),
            ("[redis]\nurl = \"http://x\"\n", "redis.url", 2, "redis://"),
            ("[metrics]\nlisten = \"9090\"\n", "metrics.listen", 2, "host:port"),
            (
                "[observer]\nbackoff = { kind = \"exponential\", base = \"5s\", cap = \"1s\" }\n",
                "observer.backoff.cap", nil, "below base"
            ),
        ] as [(String, String, Int?, String)])
    func errors(text: String, key: String, line: Int?, message: String) throws {
        let error = try #require(configError(text), "expected an error for \(key)")
        #expect(error.key == key)
        #expect(error.line == line)
        #expect(error.description.contains(message), "\(error.description)")
        #expect(error.description.hasPrefix("fraiseql.toml"))
    }

    @Test("an observer's retry policy: its own keys, the rest from [observer]")
    func observerRetryPolicy() throws {
        let configuration = try load(
            """
            [observer]
            max_deliver = 6
            backoff = { kind = "linear", base = "2s", cap = "1m", jitter = 0.5 }
            [[observers]]
            name = "inherits"
            entity = "order"
            [[observers.actions]]
            kind = "log"
            [[observers]]
            name = "own"
            entity = "order"
            max_attempts = 2
            on_failure = "log"
            backoff = { kind = "fixed", base = "300ms" }
            [[observers.actions]]
            kind = "log"
            """)
        let global = configuration.observer.backoff
        #expect(configuration.observers[0].retry == .init(maxAttempts: 6, backoff: global, onFailure: .deadLetter))
        let own = configuration.observers[1].retry
        #expect(own.maxAttempts == 2 && own.onFailure == .log)
        #expect(own.backoff.kind == .fixed && own.backoff.baseMilliseconds == 300)
        #expect(own.backoff.capMilliseconds == 60_000 && own.backoff.jitter == 0.5, "the keys not given: [observer]'s")
    }

    @Test("invalid TOML reports the line")
    func invalidTOML() throws {
        let error = try #require(configError("[nats]\nurl = \"unterminated\n"))
        #expect(error.line == 2)
        #expect(error.description.contains("invalid TOML"))
    }

    @Test("a missing file is a configuration error")
    func missingFile() {
        #expect(throws: ConfigError.self) {
            try FleetConfiguration.load(path: "/nonexistent/fraiseql.toml", environment: [:])
        }
    }

    @Test("secrets come from the environment or a file and never print")
    func secrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID())")
        try "redis://:hunter2@127.0.0.1:6379\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try load("[redis]\nurl_file = \"\(file.path)\"\n")
        #expect(fromFile.redis.url.value == "redis://:hunter2@127.0.0.1:6379")
        #expect("\(fromFile.redis.url)" == "***")
        let fromEnvironment = try load(
            "[postgres]\nurl_env = \"DB_URL\"\n", environment: ["DB_URL": "postgres://u:pw@h/db"])
        #expect(fromEnvironment.postgres.url?.value == "postgres://u:pw@h/db")
        let missing = try #require(configError("[postgres]\nurl_env = \"NOPE\"\n"))
        #expect(missing.key == "postgres.url_env")
    }

    @Test(
        "durations",
        arguments: [
            ("500ms", Duration.milliseconds(500)), ("5s", .seconds(5)), ("1.5s", .milliseconds(1500)),
            ("10m", .seconds(600)),
            ("2h", .seconds(7200)), ("7d", .seconds(604_800)),
        ])
    func durations(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test("durations without a unit are rejected", arguments: ["5", "", "s", "-1s", "1w"])
    func badDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}
