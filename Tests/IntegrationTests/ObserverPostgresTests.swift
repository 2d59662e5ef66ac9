import Contracts
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime
import Testing

/// The `postgres` transport: PostgreSQL only, NATS and Redis pointed at ports where nothing listens.
struct PostgresObserverFixture {
    let database: TestDatabase
    let configPath: String

    /// `redis`: the Redis URL (default: a port where nothing listens); `extra`: more sections.
    static func make(
        observers: String, observer: String = "", bridge: String = "", pollInterval: String = "50ms",
        redis: String? = nil, extra: String = ""
    ) async throws -> PostgresObserverFixture {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text, total numeric)")
        let config = """
            [log]
            level = "warning"
            [nats]
            url = "nats://127.0.0.1:\(try Stack.freePort())"
            [redis]
            url = "\(try redis ?? "redis://127.0.0.1:\(Stack.freePort())")"
            \(extra)
            [postgres]
            url = "\(database.url)"
            [bridge]
            poll_interval = "\(pollInterval)"
            \(bridge)
            [[bridge.tables]]
            table = "public.orders"
            entity = "order"
            [observer]
            transport = "postgres"
            \(observer)
            \(observers)
            """
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        // As an operator would: the change log, its trigger and the workers' tables, before any
        // worker starts (so that a test never reads a table a worker has not created yet).
        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["install", "--allow-superuser", "--config", path])
        try #require(code == 0, "install: \(output)")
        return PostgresObserverFixture(database: database, configPath: path)
    }

    func worker() throws -> (ServerProcess, Int) { try Binaries.service("observer-worker", config: configPath) }

    func count(_ sql: String) async throws -> Int { try await database.count(sql) }
}

@Suite("observer-worker, postgres transport", .serialized)
struct ObserverPostgresProcessTests {
    @Test("actions deliver from the change log with no NATS or Redis; a 400 lands in the dead_letters table")
    func actions() async throws {
        let receiver = try await Receiver { request, _ in
            request.path == "/refuse" ? .init(status: 400, body: "no") : .init()
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
                signing_secret = "\(ObserverWorkerTests.secret)"
                body = '{"order": {{after.id}}, "status": "{{after.status}}"}'
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
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        for statement in [
            "INSERT INTO orders (status, total) VALUES ('new', 10), ('new', 20), ('new', 30)",
            "UPDATE orders SET status = 'paid' WHERE id IN (1, 2)", "UPDATE orders SET total = 31 WHERE id = 3",
            "DELETE FROM orders WHERE id = 3",
        ] {
            try await fixture.database.execute(statement)
        }
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.dead_letters") == 1
            })
        #expect(
            try await eventually {
                try await fixture.count(
                    "SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        let paid = receiver.requests.filter { $0.path == "/paid" }
        #expect(paid.count == 2)
        let bodies = Set(paid.map(\.text))
        #expect(bodies == [#"{"order": 1, "status": "paid"}"#, #"{"order": 2, "status": "paid"}"#])
        let (status, verdict) = try verifySignatures(paid, secret: ObserverWorkerTests.secret)
        #expect(status == 0, "\(verdict)")
        #expect(try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.audit_index") == 2)
        #expect(
            try await fixture.count(
                "SELECT count(*)::int FROM fraiseql_observer.dead_letters WHERE reason = 'permanent_error' AND handler = 'refused#0' AND last_error LIKE '%HTTP 400%'"
            ) == 1)
        #expect(receiver.requests.filter { $0.path == "/refuse" }.count == 1)
        let ready = await httpGet("http://127.0.0.1:\(port)/health/ready")
        #expect(ready?.0 == 200, "ready without NATS and Redis: \(String(describing: ready))")
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test(
        "PostgreSQL + Redis: a job action goes through the Redis job queue to job-worker, once per event; the rest as PostgreSQL only"
    )
    func jobsThroughRedis() async throws {
        let receiver = try await Receiver()
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "paid"
                entity = "order"
                operations = ["update"]
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/paid"
                [[observers.actions]]
                kind = "job"
                job_kind = "http"
                payload = '{"url": "\(receiver.url)/receipt", "body": {"order": {{after.id}}}}'
                """,
            redis: try Stack.url("REDIS_URL"),
            extra: """
                key_prefix = "\(Stack.unique("pgredis")):"
                [jobs]
                http_allowed_hosts = ["127.0.0.1"]
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let (jobs, jobsPort) = try Binaries.service("job-worker", config: fixture.configPath)
        try await jobs.start(waitForPort: jobsPort)
        try await fixture.database.execute(
            "INSERT INTO orders (status, total) SELECT 'new', n FROM generate_series(1, 20) n")
        try await fixture.database.execute("UPDATE orders SET status = 'paid'")
        #expect(
            try await eventually(.seconds(30)) {
                receiver.requests.filter { $0.path == "/receipt" }.count >= 20
                    && receiver.requests.filter { $0.path == "/paid" }.count >= 20
            })
        try await Task.sleep(for: .milliseconds(500))
        let receipts = receiver.requests.filter { $0.path == "/receipt" }.map(\.text)
        #expect(receipts.count == 20 && Set(receipts).count == 20, "one receipt job per paid order: \(receipts.count)")
        let orders = receipts.compactMap { text in
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["order"] as? Int
        }
        #expect(Set(orders) == Set(1...20), "the orders of the receipts: \(receipts.prefix(3))")
        let ready = await httpGet("http://127.0.0.1:\(port)/health/ready")
        #expect(
            ready?.0 == 200 && ready?.1.contains("redis") == true,
            "Redis is in the worker's readiness: \(String(describing: ready))")
        #expect(worker.stop() == 0)
        #expect(jobs.stop() == 0)
        await receiver.stop()
    }

    @Test("install creates the workers' tables too; a worker whose role has data rights only then runs")
    func dataRightsOnly() async throws {
        let receiver = try await Receiver()
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let (printCode, script) = try await Binaries.output(
            "fraiseql-observer", ["install", "--print", "--config", fixture.configPath])
        #expect(printCode == 0 && script.contains("fraiseql_observer.observer_done"), "\(script)")
        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["install", "--allow-superuser", "--config", fixture.configPath])
        #expect(code == 0 && output.contains("and the observer-worker's tables"), "\(output)")
        // A role that may read and write the rows, and create nothing.
        let role = "worker_\(UInt32.random(in: 0...UInt32.max))"
        for statement in [
            "CREATE ROLE \(role) LOGIN",
            "GRANT USAGE ON SCHEMA fraiseql_observer TO \(role)",
            "GRANT SELECT, DELETE ON fraiseql_observer.change_log TO \(role)",
            "GRANT SELECT, UPDATE, DELETE ON fraiseql_observer.change_log_pending TO \(role)",
            """
            GRANT SELECT, INSERT, UPDATE, DELETE ON fraiseql_observer.observer_done,
                fraiseql_observer.observer_attempts, fraiseql_observer.dead_letters TO \(role)
            """,
        ] {
            try await fixture.database.execute(statement)
        }
        let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            .replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@")
        let path = try Stack.temporaryDirectory().appendingPathComponent("worker.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let (worker, port) = try Binaries.service("observer-worker", config: path)
        try await worker.start(waitForPort: port)
        try await fixture.database.execute("INSERT INTO orders (status, total) VALUES ('new', 1), ('new', 2)")
        #expect(try await eventually { receiver.count == 2 }, "delivered by a worker without DDL rights")
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.observer_done") == 2
            })
        #expect(worker.stop() == 0)
        await receiver.stop()
        try? await fixture.database.execute("DROP OWNED BY \(role)")
        try? await fixture.database.execute("DROP ROLE \(role)")
    }

    @Test("a change wakes an idle worker (LISTEN/NOTIFY): it does not wait for poll_interval")
    func notifiedChanges() async throws {
        let receiver = try await Receiver()
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """,
            pollInterval: "1h")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        // Idle: the first claim found nothing, so the worker waits (up to an hour) for a change.
        try await Task.sleep(for: .milliseconds(300))
        for round in 1...3 {
            try await fixture.database.execute("INSERT INTO orders (status, total) VALUES ('new', \(round))")
            #expect(
                try await eventually { receiver.count == round },
                "change \(round) delivered without waiting for the poll")
        }
        #expect(worker.stop() == 0, "SIGTERM ends the idle wait")
        await receiver.stop()
    }

    @Test("a retry comes due without waiting for poll_interval")
    func retryDue() async throws {
        // The first call answers 503 (retryable), the next ones 200.
        let failed = Flag()
        let receiver = try await Receiver { _, _ in
            guard !failed.isSet else { return .init() }
            failed.set()
            return .init(status: 503, body: "busy")
        }
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """,
            observer: #"backoff = { kind = "fixed", base = "300ms", cap = "300ms", jitter = 0 }"#,
            pollInterval: "1h")
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        try await fixture.database.execute("INSERT INTO orders (status, total) VALUES ('new', 1)")
        #expect(try await eventually { receiver.count == 2 }, "retried when due, not an hour later")
        let calls = receiver.requests
        #expect(calls.count == 2 && calls[1].receivedAt - calls[0].receivedAt >= 300, "after the backoff")
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test("dead letters replayed with the CLI from the table: only the actions not done run again")
    func replayDeadLetters() async throws {
        // /flaky refuses its first call (400: dead letter at once), then accepts; /ok always accepts.
        let refused = Flag()
        let receiver = try await Receiver { request, _ in
            guard request.path == "/flaky", !refused.isSet else { return .init() }
            refused.set()
            return .init(status: 400, body: "unknown customer")
        }
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/ok"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/flaky"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        try await fixture.database.execute("INSERT INTO orders (status, total) VALUES ('new', 10)")
        let letters = "SELECT count(*)::int FROM fraiseql_observer.dead_letters"
        #expect(try await eventually { try await fixture.count(letters) == 1 })
        func calls(_ path: String) -> [Receiver.Request] { receiver.requests.filter { $0.path == path } }
        #expect(calls("/ok").count == 1 && calls("/flaky").count == 1)
        let (listCode, listing) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "--config", fixture.configPath])
        #expect(listCode == 0 && listing.split(separator: "\n").count == 1 && listing.contains("permanent_error"))

        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", "--all", "--config", fixture.configPath])
        #expect(code == 0 && output.contains("1 retried, 0 skipped, 0 not found, 0 failed"), "\(output)")
        try #require(try await eventually { calls("/flaky").count == 2 }, "the failed action ran again")
        let ids = calls("/flaky").map { $0.headers["webhook-id"] }
        #expect(ids[0] == ids[1], "same idempotency key")
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        #expect(calls("/ok").count == 1, "the action done before is not repeated (observer_done)")
        #expect(try await fixture.count(letters) == 0, "the letter is gone and the event did not fail again")

        let (missingCode, missing) = try await Binaries.output(
            "fraiseql-observer",
            ["dead-letters", "replay", "00000000-0000-4000-8000-000000000000", "--config", fixture.configPath])
        #expect(missingCode == 1 && missing.contains(": not found"), "\(missing)")
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test(
        "a dead letter whose change-log row retention deleted is replayed from its payload, under its event id, once per event"
    )
    func replayAfterRetention() async throws {
        // /flaky refuses its first call (400: dead letter at once), then accepts; /ok always accepts.
        let refused = Flag()
        let receiver = try await Receiver { request, _ in
            guard request.path == "/flaky", !refused.isSet else { return .init() }
            refused.set()
            return .init(status: 400, body: "unknown customer")
        }
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                operations = ["update"]
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/ok"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/flaky"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        // An update event, with `before`, `changes` and a column set to NULL, is the one dead-lettered.
        try await fixture.database.execute("INSERT INTO orders (status, total) VALUES ('new', 10)")
        try await fixture.database.execute("UPDATE orders SET status = 'paid', total = NULL WHERE id = 1")
        let letters = "SELECT count(*)::int FROM fraiseql_observer.dead_letters"
        #expect(try await eventually { try await fixture.count(letters) == 1 })
        // A second letter of the same event (a claim rolled back after its letter was written).
        try await fixture.database.execute(
            """
            INSERT INTO fraiseql_observer.dead_letters
            SELECT gen_random_uuid(), origin, reason, event_id, handler, attempts, last_error, payload,
                   first_failed_at, last_failed_at + interval '1 second'
              FROM fraiseql_observer.dead_letters
            """)
        // What retention does to the settled rows, with the update kept aside to compare.
        try await fixture.database.execute(
            """
            CREATE TABLE captured AS SELECT event_id, entity_type, entity_id, operation, before, after, changes,
                                            tenant_id, occurred_at
                                       FROM fraiseql_observer.change_log WHERE operation = 'update'
            """)
        try await fixture.database.execute("DELETE FROM fraiseql_observer.change_log")

        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", "--all", "--config", fixture.configPath])
        #expect(code == 1 && output.contains("1 retried, 0 skipped, 0 not found, 1 failed"), "\(output)")
        #expect(output.contains("deleted by retention") && output.contains("is already pending"), "\(output)")
        func calls(_ path: String) -> [Receiver.Request] { receiver.requests.filter { $0.path == path } }
        try #require(try await eventually { calls("/flaky").count == 2 }, "the failed action ran again")
        let ids = calls("/flaky").map { $0.headers["webhook-id"] }
        #expect(ids[0] == ids[1], "same event id, so the same idempotency key")
        #expect(
            try await fixture.count(
                """
                SELECT count(*)::int FROM fraiseql_observer.change_log c JOIN captured k
                    ON (c.event_id, c.entity_type, c.entity_id, c.operation, c.occurred_at)
                       = (k.event_id, k.entity_type, k.entity_id, k.operation, k.occurred_at)
                   AND c.before = k.before AND c.after = k.after AND c.changes = k.changes
                   AND c.after -> 'total' = 'null' AND c.tenant_id IS NULL
                """) == 1, "the event is back in the change log once, as it was captured")
        #expect(try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.change_log") == 1)
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        #expect(calls("/flaky").count == 2, "the event ran once, not once per letter")
        #expect(calls("/ok").count == 1, "the action done before is not repeated (observer_done, within done_ttl)")
        #expect(try await fixture.count(letters) == 1, "the second letter is kept")
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test(
        "retention: settled change-log rows past bridge.retention, done marks past done_ttl, dead letters past dlq_max_length go; the rest stays"
    )
    func retention() async throws {
        let receiver = try await Receiver()
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """,
            observer: """
                dedup_window = "1h"
                done_ttl = "1h"
                dlq_max_length = 100
                """,
            bridge: #"retention = "1h""#)
        // A worker started and stopped first (install already created its tables): the rows below
        // are set up before the worker that purges starts.
        let (first, firstPort) = try fixture.worker()
        try await first.start(waitForPort: firstPort)
        #expect(first.stop() == 0)
        // Change-log rows 1 and 2: captured 2 h ago, settled. 3: captured 2 h ago, still pending (a
        // retry due in an hour). 4: captured now, settled.
        try await fixture.database.execute(
            "INSERT INTO orders (status, total) SELECT 'new', n FROM generate_series(1, 4) AS n")
        try await fixture.database.execute(
            """
            UPDATE fraiseql_observer.change_log SET occurred_at = now() - interval '2 hours'
             WHERE entity_id IN ('1', '2', '3')
            """)
        try await fixture.database.execute(
            """
            DELETE FROM fraiseql_observer.change_log_pending
             WHERE id IN (SELECT id FROM fraiseql_observer.change_log WHERE entity_id <> '3')
            """)
        try await fixture.database.execute(
            """
            INSERT INTO fraiseql_observer.observer_attempts (change_id, attempts, not_before)
            SELECT id, 1, now() + interval '1 hour' FROM fraiseql_observer.change_log WHERE entity_id = '3'
            """)
        // And 12,000 settled rows captured 3 h ago: more than one purge pass (10,000 rows) takes.
        try await fixture.database.execute(
            """
            INSERT INTO fraiseql_observer.change_log (entity_type, entity_id, operation, after, occurred_at)
            SELECT 'order', 'bulk-' || n, 'insert', '{}', now() - interval '3 hours' FROM generate_series(1, 12000) AS n
            """)
        // Done marks: 3 from 2 h ago, 2 from now.
        try await fixture.database.execute(
            """
            INSERT INTO fraiseql_observer.observer_done (event_id, action_key, done_at)
            SELECT gen_random_uuid(), 'hook#0', now() - make_interval(hours => CASE WHEN n <= 3 THEN 2 ELSE 0 END)
              FROM generate_series(1, 5) AS n
            """)
        // 105 dead letters, letter n failed n minutes ago: the 5 oldest are over the cap.
        try await fixture.database.execute(
            """
            INSERT INTO fraiseql_observer.dead_letters
                (id, origin, reason, event_id, handler, attempts, last_error, payload, first_failed_at, last_failed_at)
            SELECT gen_random_uuid(), 'postgres:change_log', 'permanent_error', gen_random_uuid(), 'hook#0', 1,
                   'HTTP 400', '{}', now() - make_interval(mins => n), now() - make_interval(mins => n)
              FROM generate_series(1, 105) AS n
            """)

        try await fixture.database.execute(
            """
            CREATE TABLE oldest AS SELECT id FROM fraiseql_observer.dead_letters ORDER BY last_failed_at LIMIT 5
            """)

        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        #expect(
            try await eventually {
                try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.dead_letters") == 100
            })
        #expect(try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.change_log") == 2)
        #expect(
            try await fixture.count(
                "SELECT count(*)::int FROM fraiseql_observer.change_log WHERE entity_id IN ('3', '4')") == 2,
            "the pending row and the recent one stay")
        #expect(try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.observer_done") == 2)
        #expect(
            try await fixture.count(
                "SELECT count(*)::int FROM fraiseql_observer.dead_letters WHERE id IN (SELECT id FROM oldest)") == 0,
            "the 5 oldest letters are the ones deleted")
        for (table, count) in [("change_log", 12_002), ("observer_done", 3), ("dead_letters", 5)] {
            #expect(
                try await eventually {
                    let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
                    return metrics.contains("fraiseql_observer_purged_total{table=\"\(table)\"} \(count)")
                }, "\(table)")
        }
        // What an operator sees of this topology's backlog: row 3, captured 2 h ago, waits for its retry.
        let (code, status) = try await Binaries.output("fraiseql-observer", ["status", "--config", fixture.configPath])
        // The fixture names a Redis that does not run (the workers must not need it): status reads
        // everything else and says so, with exit code 3.
        #expect(code == 3 && status.contains("PROBLEM: Redis"), "\(status)")
        #expect(status.contains("1 pending (1 waiting for a retry), oldest captured 7"), "\(status)")
        #expect(status.contains("100 dead letter(s)"), "\(status)")
        #expect(worker.stop() == 0)
        await receiver.stop()
    }

    @Test(
        "two workers share the change log (SKIP LOCKED); kill -9 mid-way loses nothing, duplicates keep their webhook-id"
    )
    func sharedAndCrashSafe() async throws {
        let receiver = try await Receiver()
        let fixture = try await PostgresObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """,
            observer: "max_in_flight = 8")
        let rows = 2000
        try await fixture.database.execute(
            "INSERT INTO orders (status, total) SELECT 'new', n FROM generate_series(1, \(rows)) AS n")
        var workers = [try fixture.worker(), try fixture.worker()]
        for (worker, port) in workers { try await worker.start(waitForPort: port) }
        var kills = 0
        for threshold in [rows / 4, rows / 2] {
            while receiver.count < threshold { try await Task.sleep(for: .milliseconds(20)) }
            #expect(workers[kills % 2].0.stop(kill: true) == 128 + SIGKILL)
            let replacement = try fixture.worker()
            try await replacement.0.start(waitForPort: replacement.1)
            workers[kills % 2] = replacement
            kills += 1
        }
        #expect(
            try await eventually(.seconds(60)) {
                try await fixture.count(
                    "SELECT count(*)::int FROM fraiseql_observer.change_log_pending") == 0
            })
        let ids = receiver.requests.compactMap { $0.headers["webhook-id"] }
        let distinct = Set(ids)
        let duplicates = ids.count - distinct.count
        print(
            "postgres transport kill -9: rows \(rows), kills \(kills), delivered \(distinct.count), duplicates \(duplicates)"
        )
        #expect(distinct.count == rows, "every row's effect delivered")
        #expect(Double(duplicates) <= Double(rows) * 0.01)
        #expect(try await fixture.count("SELECT count(*)::int FROM fraiseql_observer.dead_letters") == 0)
        for (worker, _) in workers { #expect(worker.stop() == 0) }
        await receiver.stop()
    }
}
