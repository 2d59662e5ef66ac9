import Contracts
import Foundation
import JobQueue
import NATS
import PostgresNIO
import Redis
import Synchronization
import Testing

/// A stream, a Redis key prefix and a config file of their own; observer-worker processes on them.
struct ObserverFixture {
    let jetStream: JetStream
    let stream: String
    let prefix: String
    let keyPrefix: String
    let configPath: String

    /// The Redis hash holding an event's `done` or `processed` marks (operations.md): one per
    /// 100 ms of `occurred_at`, named after that period's start in Unix milliseconds.
    func markHash(_ kind: String, _ event: EntityEvent) -> String {
        "\(keyPrefix)observer:\(kind):\(event.occurredAt.microsecondsSinceEpoch / 100_000 * 100)"
    }

    /// `observers`: the `[[observers]]` part of the file; `extra`: more sections.
    static func make(observers: String, observer: String = "", extra: String = "") async throws -> ObserverFixture {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let keyPrefix = Stack.unique("ow") + ":"
        let config = """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            subject_prefix = "\(prefix)"
            [nats.stream]
            name = "\(stream)"
            duplicate_window = "2m"
            [redis]
            url = "\(try Stack.url("REDIS_URL"))"
            key_prefix = "\(keyPrefix)"
            [observer]
            consumer = "workers"
            \(observer)
            \(extra)
            \(observers)
            """
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return ObserverFixture(
            jetStream: jetStream, stream: stream, prefix: prefix, keyPrefix: keyPrefix, configPath: path)
    }

    func worker(environment: [String: String] = [:]) throws -> (ServerProcess, Int) {
        try Binaries.service("observer-worker", config: configPath, environment: environment)
    }

    func publish(_ event: EntityEvent) async throws {
        _ = try await jetStream.publish(
            OutgoingMessage(
                subject: "\(prefix).\(event.entityType).\(event.operation.rawValue)", payload: FastJSON.encode(event),
                messageId: event.id.uuidString.lowercased()))
    }

    func publishRaw(_ text: String, subject: String) async throws {
        _ = try await jetStream.publish(OutgoingMessage(subject: "\(prefix).\(subject)", payload: Array(text.utf8)))
    }

    func deadLetters(_ redis: RedisClient) async throws -> [DeadLetter] {
        let reply = try await redis.execute(
            "XRANGE", [.string(RedisKeys(prefix: keyPrefix).observerDeadLetters), "-", "+"])
        return (reply.array ?? []).compactMap { StreamEntry(reply: $0)?.fields["dead_letter"] }.compactMap {
            try? JSONDecoder().decode(DeadLetter.self, from: Data($0))
        }
    }

    /// Waits until the workers' consumer has nothing pending and nothing awaiting an ack: what
    /// could still arrive after that would be a bug, not a late delivery. (Instead of a sleep
    /// before asserting that nothing more arrives.)
    func settled(consumer: String = "workers", timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout) {
            let info = try await jetStream.consumerInfo(stream: stream, consumer: consumer)
            return info.pending == 0 && info.ackPending == 0
        }
    }

    func cleanUp() async {
        try? await jetStream.deleteStream(stream)
    }
}

func order(_ id: Int, status: String = "paid", total: Double = 80.5, before: String = "pending") -> EntityEvent {
    EntityEvent(
        id: UUID(), cursor: Int64(id), source: "pg-main", entityType: "order", entityId: String(id), operation: .update,
        before: ["id": .int(Int64(id)), "status": .string(before), "total": .double(total)],
        after: [
            "id": .int(Int64(id)), "status": .string(status), "total": .double(total), "email": "buyer@example.com",
        ],
        changes: before == status ? [:] : ["status": FieldChange(old: .string(before), new: .string(status))],
        occurredAt: .now())
}

/// Runs the Standard Webhooks reference verifier (PyPI `standardwebhooks`) over the requests.
func verifySignatures(_ requests: [Receiver.Request], secret: String) throws -> (Int32, String) {
    let items = requests.map { request -> JSONValue in
        .object([
            "headers": .object(request.headers.mapValues { .string($0) }), "body": .string(request.text),
        ])
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Stack.python)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/verify_webhook.py").path
    process.arguments = [script, secret]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(try WireFormat.encode(JSONValue.array(items))))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

@Suite("observer-worker", .serialized)
struct ObserverWorkerTests {
    static let secret = "whsec_" + Data("a signing secret for the tests".utf8).base64EncodedString()

    @Test("each action kind delivers the right content for matching events only; signatures verify independently")
    func actions() async throws {
        let webhook = try await Receiver()
        let slack = try await Receiver()
        let smtp = try await SMTPPeer()
        defer { smtp.stop() }
        let database = try await TestDatabase.create()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "paid-orders"
                entity = "order"
                operations = ["update"]
                condition = "field_changed_to('status', 'paid') && after.total > 50"
                [[observers.actions]]
                kind = "webhook"
                url = "\(webhook.url)/orders"
                signing_secret_env = "TEST_WEBHOOK_SECRET"
                headers = { X-Team = "billing" }
                body = '{"order": {{after.id}}, "total": {{after.total}}, "status": "{{after.status}}"}'
                [[observers.actions]]
                kind = "slack"
                url_env = "TEST_SLACK_URL"
                text = "Order {{after.id}} paid: {{after.total}}"
                [[observers.actions]]
                kind = "email"
                to = "{{after.email}}"
                subject = "Thanks for order {{after.id}}"
                body = "We received {{after.total}}."
                [[observers.actions]]
                kind = "search"
                index = "orders"
                [[observers.actions]]
                kind = "job"
                job_kind = "http"
                queue = "followups"
                payload = '{"url": "http://127.0.0.1:1/x", "body": {"order": {{after.id}}}}'
                [[observers.actions]]
                kind = "log"
                level = "debug"
                """,
            extra: """
                [postgres]
                url = "\(database.url)"
                [smtp]
                host = "127.0.0.1"
                port = \(smtp.port)
                security = "none"
                from = "shop@example.com"
                """)
        let (worker, port) = try fixture.worker(environment: [
            "TEST_WEBHOOK_SECRET": Self.secret, "TEST_SLACK_URL": "\(slack.url)/services/T0/B0/xyz",
        ])
        try await worker.start(waitForPort: port)
        let matching = order(42, total: 80.5)
        try await fixture.publish(matching)
        try await fixture.publish(order(43, total: 10))  // total too small
        try await fixture.publish(order(44, status: "shipped", before: "paid"))  // not changed to paid
        var user = order(45)
        user.entityType = "user"
        try await fixture.publish(user)  // other entity

        #expect(
            try await eventually {
                webhook.requests.count == 1 && slack.requests.count == 1 && smtp.messages.count == 1
            })
        let request = try #require(webhook.requests.first)
        #expect(request.path == "/orders")
        #expect(
            try JSONDecoder().decode(JSONValue.self, from: Data(request.body)) == [
                "order": 42, "total": 80.5, "status": "paid",
            ])
        #expect(request.headers["x-team"] == "billing")
        #expect(request.headers["webhook-id"] == "\(matching.id.uuidString.lowercased()).paid-orders#0")
        let (status, verdict) = try verifySignatures(webhook.requests, secret: Self.secret)
        #expect(status == 0, "standardwebhooks: \(verdict)")
        let (tampered, _) = try verifySignatures(
            webhook.requests.map {
                var copy = $0; copy.body = Array(#"{"order": 1}"#.utf8); return copy
            }, secret: Self.secret)
        #expect(tampered == 1, "a changed body must not verify")

        #expect(
            try JSONDecoder().decode(JSONValue.self, from: Data(slack.requests[0].body)) == [
                "text": "Order 42 paid: 80.5"
            ])
        let mail = try #require(smtp.messages.first)
        #expect(mail.to == ["buyer@example.com"] && mail.from == "shop@example.com")
        #expect(mail.data.contains("Subject: Thanks for order 42") && mail.data.contains("We received 80.5."))
        #expect(mail.data.contains("Message-ID: <\(matching.id.uuidString.lowercased()).paid-orders#2@fraiseql>"))

        let connection = try await database.connect()
        let rows = try await connection.query(
            "SELECT entity_id, index_name FROM fraiseql_observer.audit_index WHERE search @@ plainto_tsquery('simple', 'paid')",
            logger: Logger(label: "tests"))
        var indexed: [String] = []
        for try await (entityID, index) in rows.decode((String, String).self) { indexed.append("\(index):\(entityID)") }
        #expect(indexed == ["orders:42"])
        try? await connection.close()

        let redis = try redisClient()
        defer { redis.close() }
        let jobs = JobQueue(redis: redis, prefix: fixture.keyPrefix)
        #expect(try await jobs.depth("followups").queued == 1)
        let entries = try await redis.execute("XRANGE", [.string(jobs.keys("followups").stream), "-", "+"])
        let first = try #require(entries.array?.first)
        let jobBytes = try #require(StreamEntry(reply: first)?.fields["job"])
        let job = try JSONDecoder().decode(Job.self, from: Data(jobBytes))
        #expect(job.kind == "http" && job.sourceEventId == matching.id && job.payload[path: "body.order"] == 42)

        // Nothing more arrives for the non-matching events, and nothing was dead-lettered.
        #expect(try await fixture.settled())
        #expect(webhook.requests.count == 1 && slack.requests.count == 1 && smtp.messages.count == 1)
        #expect(try await fixture.deadLetters(redis).isEmpty)
        #expect(worker.stop() == 0)
        await webhook.stop()
        await slack.stop()
        await fixture.cleanUp()
    }

    @Test(
        "search with [search] elasticsearch_url: one bulk index operation per event, keyed by the event id; item errors are classified"
    )
    func elasticsearchBulk() async throws {
        // Elasticsearch does not run on these machines: the receiver answers as its bulk API does.
        let receiver = try await Receiver { request, _ in
            request.text.contains("\"entity_id\":\"2\"")
                ? .init(
                    body:
                        #"{"errors":true,"items":[{"index":{"status":400,"error":{"reason":"mapper_parsing_exception"}}}]}"#
                )
                : .init(body: #"{"errors":false,"items":[{"index":{"status":201}}]}"#)
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "audit"
                entity = "order"
                [[observers.actions]]
                kind = "search"
                index = "orders-audit"
                """,
            extra: """
                [search]
                elasticsearch_url_env = "TEST_ES_URL"
                """)
        let (worker, port) = try fixture.worker(environment: ["TEST_ES_URL": receiver.url])
        try await worker.start(waitForPort: port)
        let indexed = order(1)
        try await fixture.publish(indexed)
        try await fixture.publish(order(2))
        let redis = try redisClient()
        defer { redis.close() }
        #expect(
            try await eventually {
                let letters = try await fixture.deadLetters(redis)
                return receiver.count == 2 && letters.count == 1
            })
        let request = try #require(receiver.requests.first { $0.text.contains("\"entity_id\":\"1\"") })
        #expect(request.path == "/_bulk" && request.headers["content-type"] == "application/x-ndjson")
        let lines = request.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let operation = try JSONDecoder().decode(JSONValue.self, from: Data(lines[0].utf8))
        #expect(operation == ["index": ["_index": "orders-audit", "_id": .string(indexed.id.lowercasedString)]])
        #expect(try EntityEvent.decode(Array(lines[1].utf8)) == indexed)
        let letter = try #require(try await fixture.deadLetters(redis).first)
        #expect(letter.reason == .permanentError && letter.lastError.contains("mapper_parsing_exception"))
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("a 400 dead-letters the event after one attempt; a non-JSON message is dead-lettered at once")
    func permanentFailures() async throws {
        let receiver = try await Receiver { _, _ in .init(status: 400, body: "unknown customer") }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(1)
        try await fixture.publish(event)
        try await fixture.publishRaw("this is not json", subject: "order.update")
        // No condition or template reads the rows here, so the worker does not build them; a
        // malformed row is still found.
        var badRow = String(decoding: FastJSON.encode(order(2)), as: UTF8.self)
        badRow = badRow.replacingOccurrences(of: #""before":{"#, with: #""before":5,"x":{"#)
        try await fixture.publishRaw(badRow, subject: "order.update")
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 3 })
        let letters = try await fixture.deadLetters(redis)
        let permanent = try #require(letters.first { $0.reason == .permanentError })
        #expect(permanent.eventId == event.id && permanent.attempts == 1 && permanent.handler == "hook#0")
        #expect(permanent.lastError.contains("HTTP 400") && permanent.lastError.contains("unknown customer"))
        #expect(try EntityEvent.decode(Array(permanent.payload.utf8)) == event)
        let undecodable = try #require(letters.first { $0.payload == "this is not json" })
        #expect(undecodable.reason == .undecodable && undecodable.origin == "\(fixture.prefix).order.update")
        let malformed = try #require(letters.first { $0.payload == badRow })
        #expect(malformed.reason == .undecodable && malformed.lastError == "'before' must be an object or null")
        // The operator sees them with the CLI.
        let (code, listing) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "--config", fixture.configPath])
        #expect(code == 0)
        #expect(
            listing.split(separator: "\n").count == 3 && listing.contains("permanent_error")
                && listing.contains("undecodable"))
        #expect(try await fixture.settled())
        #expect(receiver.requests.count == 1, "a permanent failure is not retried")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("dead letters replayed with the CLI: only the actions not done run again; undecodable letters stay")
    func replayDeadLetters() async throws {
        // /flaky refuses its first call (400: dead letter at once), then accepts; /ok always accepts.
        let refused = Flag()
        let receiver = try await Receiver { request, _ in
            if request.path == "/dead" { return .init(status: 400, body: "gone") }
            guard request.path == "/flaky", !refused.isSet else { return .init() }
            refused.set()
            return .init(status: 400, body: "unknown customer")
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                condition = "field_changed_to('status', 'paid')"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/ok"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/flaky"
                [[observers]]
                name = "dead"
                entity = "order"
                condition = "field_changed_to('status', 'refunded')"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/dead"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(1)
        try await fixture.publish(event)
        try await fixture.publishRaw("this is not json", subject: "order.update")
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 2 })
        func calls(_ path: String) -> [Receiver.Request] { receiver.requests.filter { $0.path == path } }
        #expect(calls("/ok").count == 1 && calls("/flaky").count == 1)

        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", "--all", "--config", fixture.configPath])
        #expect(code == 0, "\(output)")
        #expect(output.contains("1 retried, 1 skipped, 0 not found, 0 failed"), "\(output)")
        try #require(try await eventually { calls("/flaky").count == 2 }, "the failed action ran again")
        let ids = calls("/flaky").map { $0.headers["webhook-id"] }
        #expect(ids[0] == ids[1] && ids[0] == "\(event.id.lowercasedString).hook#1", "same idempotency key")
        let letters = try await fixture.deadLetters(redis)
        #expect(letters.count == 1 && letters.first?.reason == .undecodable, "only the undecodable letter stays")
        #expect(try await fixture.settled())
        #expect(calls("/ok").count == 1, "the action done before is not repeated (its done mark)")
        #expect(try await fixture.deadLetters(redis).count == 1, "the replayed event did not fail again")

        // 150 events that fail again: --all reads them in pages of 100 and replays each once,
        // not the new letters that come while it runs; --reason leaves the undecodable one out.
        for index in 0..<150 { try await fixture.publish(order(100 + index, status: "refunded")) }
        #expect(try await eventually(.seconds(20)) { try await fixture.deadLetters(redis).count == 151 })
        let (againCode, again) = try await Binaries.output(
            "fraiseql-observer",
            ["dead-letters", "replay", "--all", "--reason", "permanent_error", "--config", fixture.configPath])
        #expect(againCode == 0 && again.contains("150 retried, 0 skipped, 0 not found, 0 failed"), "\(again)")
        #expect(try await eventually(.seconds(20)) { calls("/dead").count == 300 })
        #expect(try await eventually { try await fixture.deadLetters(redis).count == 151 }, "150 new letters")
        #expect(try await fixture.settled())
        #expect(calls("/dead").count == 300)

        // A letter from another fleet's subjects is left alone.
        let foreign = DeadLetter(
            origin: "elsewhere.order.update", payload: String(decoding: FastJSON.encode(order(9)), as: UTF8.self),
            reason: .permanentError, attempts: 1, firstFailedAt: .now(), lastFailedAt: .now(), lastError: "HTTP 400",
            eventId: nil, handler: "hook#0")
        let added = try await redis.execute(
            "XADD",
            [
                .string(RedisKeys(prefix: fixture.keyPrefix).observerDeadLetters), "*", "dead_letter",
                .bytes(Array(try JSONEncoder().encode(foreign))),
            ])
        let foreignID = try #require(added.string)
        let (foreignCode, foreignOutput) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", foreignID, "--config", fixture.configPath])
        #expect(
            foreignCode == 0 && foreignOutput.contains("not under this configuration's subject prefix"),
            "\(foreignOutput)")
        #expect(try await fixture.deadLetters(redis).count == 152)

        let (missingCode, missing) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", "0-1", "--config", fixture.configPath])
        #expect(missingCode == 1 && missing.contains("0-1: not found"), "\(missing)")
        let (usageCode, _) = try await Binaries.output(
            "fraiseql-observer", ["dead-letters", "replay", "--config", fixture.configPath])
        #expect(usageCode != 0, "neither ids nor --all")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "per-observer policies: max_attempts with its own backoff then the DLQ; on_failure = log gives up once; Retry-After is honoured"
    )
    func observerPolicies() async throws {
        let laterCalls = Atomic(0)
        let receiver = try await Receiver { request, _ in
            switch request.path {
            case "/strict": return .init(status: 503, body: "down")
            case "/lenient": return .init(status: 400, body: "no such channel")
            default:  // /patient: first a 429 asking for 1 s, then accepted
                let call = laterCalls.add(1, ordering: .relaxed).newValue
                return call == 1 ? .init(status: 429, headers: ["Retry-After": "1"], body: "slow down") : .init()
            }
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "strict"
                entity = "order"
                max_attempts = 3
                backoff = { kind = "fixed", base = "200ms", cap = "200ms", jitter = 0 }
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/strict"
                [[observers]]
                name = "lenient"
                entity = "order"
                on_failure = "log"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/lenient"
                [[observers]]
                name = "patient"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/patient"
                """,
            observer: """
                max_deliver = 20
                backoff = { kind = "fixed", base = "50ms", cap = "50ms", jitter = 0 }
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(1)
        try await fixture.publish(event)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually(.seconds(20)) { try await fixture.deadLetters(redis).count == 1 })
        try await Task.sleep(for: .milliseconds(700))  // room for a wrong extra delivery to show
        func times(_ path: String) -> [Int64] {
            receiver.requests.filter { $0.path == path }.map(\.receivedAt).sorted()
        }
        let strict = times("/strict")
        let lenient = times("/lenient")
        let patient = times("/patient")
        // strict: exactly max_attempts deliveries, then its dead letter ends the message.
        #expect(strict.count == 3, "strict attempts: \(strict.count)")
        let letter = try #require(try await fixture.deadLetters(redis).first)
        #expect(letter.reason == .retriesExhausted && letter.handler == "strict#0" && letter.attempts == 3)
        #expect(letter.eventId == event.id && letter.lastError.contains("HTTP 503"))
        // lenient: a 400 given up after its one attempt, without a dead letter, and not repeated by
        // the event's later deliveries.
        #expect(lenient.count == 1, "lenient attempts: \(lenient.count)")
        #expect(!letter.lastError.contains("lenient"), "the dead letter is strict's alone: \(letter.lastError)")
        let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
        #expect(metrics.contains(#"fraiseql_observer_actions_given_up_total{kind="webhook"} 1"#))
        // patient: the 429's Retry-After (1 s) delays the next delivery past every backoff.
        #expect(patient.count == 2, "patient attempts: \(patient.count)")
        if patient.count == 2 { #expect(patient[1] - patient[0] >= 950, "Retry-After: \(patient[1] - patient[0]) ms") }
        if strict.count == 3 {
            #expect(strict[1] - strict[0] >= 950, "the longest delay of the failing observers wins")
            #expect(strict[2] - strict[1] >= 190, "strict's own backoff (200 ms), not [observer]'s 50 ms")
        }
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("an event delivered again after it was processed is a dedup hit; an identical request is a result-cache hit")
    func dedupAndCache() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                [[observers]]
                name = "cached"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/cached"
                body = '{"status": "{{after.status}}"}'
                cache_ttl = "1m"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func metric(_ name: String) async -> Double? { await metricValue(port: port, name) }
        func count(_ path: String) -> Int { receiver.requests.filter { $0.path == path }.count }
        let first = order(1)
        try await fixture.publish(first)
        #expect(try await eventually { await metric("fraiseql_observer_events_processed_total") == 1 })
        // The same event again under another message id (as a bridge would republish it after the
        // stream's duplicate window): its processed mark makes it a dedup hit, nothing is called.
        _ = try await fixture.jetStream.publish(
            OutgoingMessage(
                subject: "\(fixture.prefix).order.update", payload: FastJSON.encode(first), messageId: "again"))
        #expect(try await eventually { await metric("fraiseql_observer_dedup_hits_total") == 1 })
        #expect(count("/hook") == 1 && count("/cached") == 1)
        // Another event whose cached action renders the same request: served from the cache.
        try await fixture.publish(order(2))
        #expect(try await eventually { count("/hook") == 2 })
        #expect(try await eventually { await metric("fraiseql_observer_events_processed_total") == 2 })
        #expect(count("/cached") == 1, "the identical request was not sent again")
        #expect(await metric("fraiseql_observer_cache_hits_total") == 1)
        #expect(await metric("fraiseql_observer_cache_misses_total") == 1)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("an event with one action is deduplicated by its done mark alone; one with several, by its processed mark")
    func marksRead() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "one"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/one"
                [[observers]]
                name = "two"
                entity = "invoice"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/two-a"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/two-b"
                """)
        let redis = try redisClient()
        defer { redis.close() }
        // The layout of operations.md: one hash per 100 ms of occurred_at.
        func mark(_ kind: String, _ event: EntityEvent, _ action: String = "") async throws {
            let id = event.id.lowercasedString
            let field = kind == "done" ? "\(id):\(action)" : id
            let hash = RedisArgument.string(fixture.markHash(kind, event))
            _ = try await redis.execute("HSET", [hash, .string(field), "1"])
            _ = try await redis.execute("PEXPIRE", [hash, "60000"])
        }
        func invoice(_ id: Int) -> EntityEvent {
            var event = order(id)
            event.entityType = "invoice"
            return event
        }
        // Times in the middle of a 100 ms period, whole seconds apart: the marks of each second
        // are in hashes of their own. Published before the worker starts, the four events are
        // usually checked in one batch, which then reads five hashes (the done hashes of three
        // seconds, the processed hashes of two).
        let base = Timestamp.now().microsecondsSinceEpoch / 100_000 * 100_000 + 50_000
        func at(_ event: EntityEvent, secondsAgo: Int64) -> EntityEvent {
            var event = event
            event.occurredAt = Timestamp(microsecondsSinceEpoch: base - secondsAgo * 1_000_000)
            return event
        }
        // Done before (its done mark), published again: a dedup hit, nothing called.
        let done = at(order(1), secondsAgo: 3)
        try await mark("done", done, "one#0")
        // Processed with both actions: a dedup hit through the processed mark alone.
        let processed = at(invoice(2), secondsAgo: 2)
        try await mark("processed", processed)
        // A processed mark on a one-action event is not read (this worker never writes one; only a
        // change of configuration between two deliveries could leave one): the action runs.
        let stray = at(order(3), secondsAgo: 1)
        try await mark("processed", stray)
        // New, in the same second as `done` (its done hash; its processed hash is new): both its
        // actions run.
        let fresh = at(invoice(4), secondsAgo: 3)
        for event in [done, processed, stray, fresh] { try await fixture.publish(event) }
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func metric(_ name: String) async -> Double? { await metricValue(port: port, name) }
        #expect(try await eventually { await metric("fraiseql_observer_dedup_hits_total") == 2 })
        #expect(try await eventually { await metric("fraiseql_observer_events_processed_total") == 2 })
        #expect(receiver.requests.map(\.path).sorted() == ["/one", "/two-a", "/two-b"])
        // The new event's processed mark was written to its hash, which expires.
        let hash = RedisArgument.string(fixture.markHash("processed", fresh))
        #expect(try await redis.execute("HEXISTS", [hash, .string(fresh.id.lowercasedString)]) == .integer(1))
        #expect((try await redis.execute("PTTL", [hash]).integer ?? 0) > 0, "the hash expires")
        // Published again under another message id, it is a dedup hit.
        _ = try await fixture.jetStream.publish(
            OutgoingMessage(
                subject: "\(fixture.prefix).invoice.update", payload: FastJSON.encode(fresh), messageId: "again"))
        #expect(try await eventually { await metric("fraiseql_observer_dedup_hits_total") == 3 })
        #expect(receiver.count == 3)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("a shutdown hands events back without spending their attempts: one cut short, one never started")
    func releasedAtShutdown() async throws {
        // The first request hangs until the worker is stopped; every later one fails with 503.
        let receiver = try await Receiver { _, index in
            index == 0 ? Receiver.Reply(delay: .seconds(60)) : Receiver.Reply(status: 503)
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                max_attempts = 2
                backoff = { kind = "fixed", base = "100ms", cap = "100ms" }
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                timeout = "60s"
                """,
            // One event worked on, one waiting in the pull window.
            observer: """
                max_in_flight = 1
                shutdown_grace = "200ms"
                circuit_min_calls = 100
                """)
        let (first, second) = (order(1), order(2))
        func requests(_ event: EntityEvent) -> Int {
            receiver.requests.filter { $0.headers["webhook-id"] == "\(event.id.lowercasedString).hook#0" }.count
        }
        let (stopped, stoppedPort) = try fixture.worker()
        try await stopped.start(waitForPort: stoppedPort)
        try await fixture.publish(first)
        try await fixture.publish(second)
        #expect(try await eventually { requests(first) == 1 })
        try await Task.sleep(for: .milliseconds(500))  // the second is pulled into the window
        #expect(stopped.stop() == 0)
        #expect(requests(second) == 0, "the second event was not started")
        // Both come back with a delivery count of 2, of which 1 was released: each gets its two
        // attempts (two 503s) before the dead letter, not one.
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually(.seconds(20)) { try await fixture.deadLetters(redis).count == 2 })
        #expect(requests(first) == 3, "the hung request, then two attempts")
        #expect(requests(second) == 2, "two attempts")
        for letter in try await fixture.deadLetters(redis) {
            #expect(letter.attempts == 2, "\(letter.lastError)")
        }
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("the lag gauge shows the age of the oldest event fetched, matched or not, and 0 once nothing is waiting")
    func lagGauge() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func lag() async -> Double? { await metricValue(port: port, "fraiseql_observer_lag_seconds") }
        var event = order(1)
        event.occurredAt = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 3_600_000_000)
        try await fixture.publish(event)
        // Watched from the publish on: the gauge holds the event's age from its fetch until the
        // next fetch (up to 1 s later), a window a loaded machine can miss when looking only after
        // the delivery.
        #expect(
            try await eventually(.seconds(10)) { (await lag() ?? 0) > 3_500 }, "an hour-old event shows as lag")
        #expect(try await eventually { receiver.count == 1 })
        #expect(try await eventually(.seconds(5)) { await lag() == 0 }, "caught up")
        // An event no observer matches counts too: a backlog of those is lag as well.
        var unmatched = order(2)
        unmatched.entityType = "customer"
        unmatched.occurredAt = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 7_200_000_000)
        try await fixture.publish(unmatched)
        #expect(try await eventually(.seconds(5)) { (await lag() ?? 0) > 7_000 }, "a two-hour-old unmatched event")
        #expect(try await eventually(.seconds(5)) { await lag() == 0 }, "caught up again")
        #expect(receiver.count == 1)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("without a condition, a body template that reads the rows gets them; the default body is the payload")
    func rowsForTemplates() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "templated"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/templated"
                body = '{"status": "{{after.status}}", "was": "{{changes.status.old}}"}'
                [[observers]]
                name = "plain"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/plain"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(7, status: "shipped", before: "paid")
        try await fixture.publish(event)
        #expect(try await eventually { receiver.requests.count == 2 })
        let templated = try #require(receiver.requests.first { $0.path == "/templated" })
        #expect(String(decoding: templated.body, as: UTF8.self) == #"{"status": "shipped", "was": "paid"}"#)
        let plain = try #require(receiver.requests.first { $0.path == "/plain" })
        #expect(plain.body == FastJSON.encode(event))
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "a flaky receiver (503s and hangs): every event delivered once per webhook-id, backoff followed, circuit opens and closes"
    )
    func flakyReceiver() async throws {
        let receiver = try await Receiver { _, index in
            if index < 12 { return .init(status: 503, body: "overloaded") }  // a burst: opens the circuit
            if index % 2 == 0 { return .init(status: 503, body: "overloaded") }
            if index % 7 == 3 { return .init(delay: .seconds(5)) }  // hangs past the 2 s timeout
            return .init()
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                timeout = "2s"
                """,
            observer: """
                max_deliver = 50
                backoff = { kind = "exponential", base = "100ms", cap = "1s", jitter = 0 }
                circuit_min_calls = 4
                circuit_reset = "1s"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        // 16 events: enough for every failure mode above; the open circuit lets about one success
        // through per reset, so the run lasts tens of seconds, and on a starved machine minutes.
        let events = (0..<16).map { order($0) }
        for event in events { try await fixture.publish(event) }
        /// The webhook-ids of the requests the receiver answered 200 at once (same rule as above).
        func succeeded() -> [String] {
            receiver.requests.enumerated().compactMap { index, request -> String? in
                let ok = index >= 12 && index % 2 == 1 && index % 7 != 3
                return ok ? request.headers["webhook-id"] : nil
            }
        }
        // Generous: retries wait for backoffs and an open circuit, slower still on a loaded machine.
        #expect(try await eventually(.seconds(180)) { Set(succeeded()).count == events.count })
        let expected = Set(events.map { "\($0.id.uuidString.lowercased()).hook#0" })
        #expect(Set(succeeded()) == expected)
        // At least once: an answer that reaches the worker after its 2 s timeout (a CPU-starved
        // machine) is a failure to it, so a success can be delivered again, always under the same
        // webhook-id (checked above). On a machine that keeps up that never happens; allow 2.
        #expect(succeeded().count - events.count <= 2, "an event is rarely delivered again after a success")
        // Retries follow the backoff: per event, the gap between attempts is at least the base
        // (100 ms), as the receiver saw them arrive (its own scheduling blurs a few: 90% must).
        let byID = Dictionary(grouping: receiver.requests, by: { $0.headers["webhook-id"] ?? "" })
        var gaps: [Int64] = []
        for (_, attempts) in byID where attempts.count > 1 {
            let times = attempts.map(\.receivedAt).sorted()
            for (earlier, later) in zip(times, times.dropFirst()) { gaps.append(Int64(later - earlier)) }
        }
        #expect(gaps.filter { $0 >= 95 }.count * 10 >= gaps.count * 9, "backoff followed: \(gaps.sorted().prefix(10))")
        let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
        #expect(
            metrics.contains(#"fraiseql_observer_actions_failed_total{kind="webhook",class="circuit_open"}"#),
            "the circuit opened")
        #expect(
            try await eventually(.seconds(5)) {
                (await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? "").contains(
                    #"fraiseql_observer_circuit_state{endpoint="\#(receiver.url)"} 0"#)
            }, "and closed again")
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await fixture.deadLetters(redis).isEmpty)
        print("flaky receiver: \(receiver.requests.count) requests for \(events.count) events, all delivered")
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "circuits are shared through Redis: another worker's opening holds this worker's calls until that worker's trial call closes it, unless a call here succeeded recently; this worker's own opening and its successful trial are written for the others"
    )
    func sharedCircuits() async throws {
        let healthy = try await Receiver()
        let brokenDown = Atomic(true)
        let broken = try await Receiver { _, _ in
            brokenDown.load(ordering: .acquiring) ? .init(status: 503, body: "down") : .init()
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "orders"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(healthy.url)/hook"
                [[observers]]
                name = "invoices"
                entity = "invoice"
                [[observers.actions]]
                kind = "webhook"
                url = "\(broken.url)/hook"
                """,
            observer: """
                max_deliver = 50
                backoff = { kind = "fixed", base = "200ms", cap = "200ms", jitter = 0 }
                circuit_min_calls = 2
                circuit_reset = "10s"
                """)
        let redis = try redisClient()
        defer { redis.close() }
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        func metrics() async -> String { await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? "" }
        func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
        let healthyKey = RedisKeys(prefix: fixture.keyPrefix).observerCircuit(endpoint: healthy.url)

        // Another worker opened the healthy endpoint's circuit; its key lives 1.5 s more.
        let sharedAt = now()
        _ = try await redis.execute("SET", [.string(healthyKey), "another-host:1:ab12", "PX", "1500"])
        #expect(
            try await eventually(.seconds(3)) {
                await metrics().contains(#"fraiseql_observer_circuit_state{endpoint="\#(healthy.url)"} 1"#)
            }, "this worker opened its circuit from the shared key")
        try await fixture.publish(order(1))
        // The key expired, but this worker leaves the trial call to the opener (one trial for
        // the fleet): no call yet.
        try await Task.sleep(for: .milliseconds(Int(max(0, sharedAt + 2_500 - now()))))
        #expect(healthy.count == 0, "held past the key: the opener's trial call comes first")
        #expect(
            await metrics().contains(#"fraiseql_observer_actions_failed_total{kind="webhook",class="circuit_open"}"#))
        // The opener's trial call succeeded: this worker closes its circuit and calls.
        let closedAt = now()
        _ = try await redis.execute("SET", [.string(healthyKey), "closed another-host:1:ab12", "PX", "3000"])
        #expect(try await eventually(.seconds(10)) { healthy.count == 1 })
        let waited = (healthy.requests.first?.receivedAt ?? 0) - closedAt
        // The refused event comes back 3 s after the key's expiry (the opener's trial and a poll):
        // without the closing it would be refused again, for the rest of circuit_reset.
        #expect(waited < 3_500, "called once the event came back after the closing: \(waited) ms")

        // A call to it succeeded here just now: another worker's opening is not applied (what
        // fails there may be that worker's own problem).
        _ = try await redis.execute("SET", [.string(healthyKey), "another-host:1:ab12", "PX", "5000"])
        try await Task.sleep(for: .milliseconds(1500))  // more than a poll interval
        let sent = now()
        try await fixture.publish(order(2))
        #expect(try await eventually(.seconds(5)) { healthy.count == 2 })
        let took = (healthy.requests.last?.receivedAt ?? 0) - sent
        #expect(took < 2_000, "delivered at once despite the key: \(took) ms")

        // This worker's own failures open the broken endpoint's circuit: the key is written for
        // the others, with circuit_reset as its time and this worker as its opener.
        var invoice = order(3)
        invoice.entityType = "invoice"
        try await fixture.publish(invoice)
        let key = RedisKeys(prefix: fixture.keyPrefix).observerCircuit(endpoint: broken.url)
        var remaining: Int64 = 0
        #expect(
            try await eventually(.seconds(5)) {
                if case .integer(let milliseconds) = try await redis.execute("PTTL", [.string(key)]) {
                    remaining = milliseconds
                }
                return remaining > 0
            }, "the circuit's key is in Redis")
        #expect(remaining > 8_000 && remaining <= 10_000, "it expires after circuit_reset: \(remaining) ms")
        let opener = try await redis.execute("GET", [.string(key)]).string ?? ""
        #expect(opener.contains(":\(worker.processID):"), "the key names the worker that opened it: \(opener)")
        // The operator's view of it.
        let (code, output) = try await Binaries.output(
            "fraiseql-observer", ["circuits", "--config", fixture.configPath])
        #expect(code == 0)
        let line = output.split(separator: "\n").first { $0.hasPrefix(broken.url + " ") } ?? ""
        #expect(line.contains(" open ") && line.hasSuffix(opener), "fraiseql-observer circuits: \(output)")
        // Two failures opened it; while it is open (its own key is not re-applied or extended),
        // the event is not sent again.
        try await Task.sleep(for: .seconds(1.5))
        #expect(broken.count == 2, "no call while the circuit is open")
        // The endpoint recovers; this worker's trial call (when circuit_reset is up) succeeds and
        // tells the others: the key now says `closed <this worker>`.
        brokenDown.store(false, ordering: .releasing)
        // Meanwhile another worker took the trial over (as if this one had gone quiet): this
        // worker's successful trial still writes its closing over that.
        _ = try await redis.execute("SET", [.string(key), "trial another-host:1:ab12", "PX", "20000"])
        var closing = ""
        #expect(
            try await eventually(.seconds(15)) {
                closing = try await redis.execute("GET", [.string(key)]).string ?? ""
                return closing.hasPrefix("closed ")
            }, "the successful trial is written for the others")
        #expect(closing == "closed " + opener, "closed by this worker: \(closing)")
        #expect(broken.count == 3, "one trial call, delivered")
        #expect(worker.stop() == 0)
        await healthy.stop()
        await broken.stop()
        await fixture.cleanUp()
    }

    @Test(
        "a circuit whose opener went quiet: one of the other workers takes its trial call over, the rest wait for that trial"
    )
    func orphanedCircuitTrial() async throws {
        let broken = try await Receiver { _, _ in .init(status: 503, body: "down") }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "orders"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(broken.url)/hook"
                """,
            observer: """
                max_deliver = 50
                backoff = { kind = "fixed", base = "200ms", cap = "200ms", jitter = 0 }
                circuit_min_calls = 2
                circuit_reset = "8s"
                """)
        let redis = try redisClient()
        defer { redis.close() }
        let key = RedisKeys(prefix: fixture.keyPrefix).observerCircuit(endpoint: broken.url)
        let (first, firstPort) = try fixture.worker()
        let (second, secondPort) = try fixture.worker()
        try await first.start(waitForPort: firstPort)
        try await second.start(waitForPort: secondPort)
        // A worker that is gone opened the circuit: its key lives 3 s more, its trial never comes.
        _ = try await redis.execute("SET", [.string(key), "gone-host:1:ab12", "PX", "3000"])
        let open = #"fraiseql_observer_circuit_state{endpoint="\#(broken.url)"} 1"#
        for port in [firstPort, secondPort] {
            #expect(
                try await eventually(.seconds(3)) {
                    (await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? "").contains(open)
                },
                "both workers opened their circuit from the key")
        }
        // Events for both workers, refused while the circuits are open: enough that, spread between
        // the two, the worker that takes the trial over has one when its trial is due.
        for id in 1...40 { try await fixture.publish(order(id)) }
        // Both would make a trial call circuit_reset after the key expired. 3 s after it expired
        // with nothing heard, one of them takes the trial over, in the key.
        var claim = ""
        #expect(
            try await eventually(.seconds(10)) {
                claim = try await redis.execute("GET", [.string(key)]).string ?? ""
                return claim.hasPrefix("trial ")
            }, "a worker took the trial over")
        #expect(
            claim.contains(":\(first.processID):") || claim.contains(":\(second.processID):"),
            "the key names that worker: \(claim)")
        #expect(broken.count == 0, "no call before the trial")
        #expect(try await eventually(.seconds(10)) { broken.count >= 1 }, "the trial call was made")
        // The trial failed: its worker opened its circuit again (circuit_reset), and the other
        // worker waits for that worker's next trial rather than making its own.
        try await Task.sleep(for: .seconds(4))
        #expect(broken.count == 1, "one trial call for the fleet, not one per worker: \(broken.count)")
        #expect(first.stop() == 0)
        #expect(second.stop() == 0)
        await broken.stop()
        await fixture.cleanUp()
    }
}

@Suite("observer-worker processes", .serialized)
struct ObserverWorkerProcessTests {
    @Test(
        "effects under kill -9: 10,000 events, 3 workers, one killed at each fifth of the work; nothing lost, duplicates carry the same webhook-id"
    )
    func crashes() async throws {
        // A killed worker leaves at most `maxInFlight` events between a delivery and its done mark,
        // so the raw duplicates are at most kills × maxInFlight: 4 × 2 = 8, under 0.1% of 10,000.
        let maxInFlight = 2
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                timeout = "10s"
                """,
            // A timeout and an ack_wait far above any answer time on a loaded machine: a call
            // timed out, or a message redelivered while still in the works, would be a duplicate
            // of its own, not a kill's (one full-suite run saw 21 with 2 s and 5 s).
            observer: """
                ack_wait = "12s"
                max_in_flight = \(maxInFlight)
                backoff = { kind = "fixed", base = "100ms", cap = "100ms" }
                """)
        let count = 10_000
        let events = (0..<count).map { order($0) }
        for batch in stride(from: 0, to: count, by: 1000) {
            let messages = events[batch..<min(count, batch + 1000)].map { event in
                OutgoingMessage(
                    subject: "\(fixture.prefix).order.update", payload: FastJSON.encode(event),
                    messageId: event.id.uuidString.lowercased())
            }
            for result in try await fixture.jetStream.publishBatch(messages, timeout: .seconds(30)) {
                _ = try result.get()
            }
        }
        var workers: [(ServerProcess, Int)] = []
        for _ in 0..<3 {
            let worker = try fixture.worker()
            try await worker.0.start(waitForPort: worker.1)
            workers.append(worker)
        }
        var random = SeededRandom(seed: 20_261_123)
        let expected = Set(events.map { "\($0.id.uuidString.lowercased()).hook#0" })
        func distinct() -> Set<String> { Set(receiver.requests.compactMap { $0.headers["webhook-id"] }) }
        var kills = 0
        let deadline = ContinuousClock.now + .seconds(150)
        // A kill at 20, 40, 60 and 80% of the deliveries, at least a second apart, a random worker each time.
        for threshold in [0.2, 0.4, 0.6, 0.8] {
            try await Task.sleep(for: .milliseconds(1000 + Int(random.next() % 500)))
            while Double(receiver.count) < threshold * Double(count), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let victim = Int(random.next() % 3)
            #expect(workers[victim].0.stop(kill: true) == 128 + SIGKILL)
            kills += 1
            let replacement = try fixture.worker()
            try await replacement.0.start(waitForPort: replacement.1)
            workers[victim] = replacement
        }
        while receiver.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        _ = try await eventually(.seconds(30)) { distinct().count == count }
        // Let redeliveries of the last kill settle (ack_wait 12 s), then count.
        try await Task.sleep(for: .seconds(13))
        let seen = distinct()
        let raw = receiver.requests.count
        let lost = expected.subtracting(seen).count
        let duplicates = raw - seen.count
        print(
            "observer-worker kill -9: events \(count), kills \(kills), delivered \(seen.count), lost \(lost),"
                + " raw duplicates \(duplicates) (\(String(format: "%.3f", Double(duplicates) * 100 / Double(count)))%)"
        )
        #expect(lost == 0)
        #expect(seen.count == expected.count && seen.isSubset(of: expected))
        #expect(duplicates <= kills * maxInFlight, "a duplicate that no kill explains")
        #expect(Double(duplicates) < Double(count) * 0.001, "duplicates under 0.1%")
        #expect(kills == 4, "the test killed workers while they worked")
        for (worker, _) in workers { #expect(worker.stop() == 0) }
        let redis = try redisClient()
        defer { redis.close() }
        let letters = try await fixture.deadLetters(redis)
        #expect(letters.isEmpty, "dead letters: \(letters.prefix(3).map { "\($0.reason): \($0.lastError)" })")
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "SIGTERM with a webhook in flight: exits cleanly after the grace period, the event is NAKed and delivered by the next worker"
    )
    func gracefulShutdown() async throws {
        let first = Atomic(true)
        let receiver = try await Receiver { _, _ in
            first.exchange(false, ordering: .acquiringAndReleasing) ? .init(delay: .seconds(30)) : .init()
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                timeout = "60s"
                """,
            observer: """
                shutdown_grace = "500ms"
                ack_wait = "60s"
                """)
        let (worker, port) = try fixture.worker()
        try await worker.start(waitForPort: port)
        let event = order(7)
        try await fixture.publish(event)
        #expect(try await eventually { receiver.count == 1 })
        let stopping = ContinuousClock.now
        #expect(worker.stop() == 0, "SIGTERM exits 0")
        let stopTime = ContinuousClock.now - stopping
        #expect(stopTime < .seconds(3), "the grace period bounds the shutdown: \(stopTime)")
        // NAKed at shutdown, so the next worker gets it at once (not after the 60 s ack_wait).
        let (next, nextPort) = try fixture.worker()
        try await next.start(waitForPort: nextPort)
        #expect(try await eventually(.seconds(15)) { receiver.count == 2 })
        let ids = receiver.requests.compactMap { $0.headers["webhook-id"] }
        #expect(ids == Array(repeating: "\(event.id.lowercasedString).hook#0", count: 2))
        print(
            "observer-worker SIGTERM with a webhook in flight: stopped in \(stopTime), redelivered to the next worker")
        #expect(next.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("SIGTERM while the last done marks wait on Redis: the worker writes them, then acks, then exits")
    func shutdownSettles() async throws {
        let receiver = try await Receiver { _, _ in .init(delay: .milliseconds(800)) }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """,
            observer: """
                ack_wait = "60s"
                """)
        // A Redis of the test's own, whose writes the test pauses (`CLIENT PAUSE … WRITE`).
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let redisPort = try Stack.freePort()
        let redisServer = ServerProcess.redisServer(port: redisPort, directory: directory)
        try await redisServer.start(waitForPort: redisPort)
        let redisURL = "redis://127.0.0.1:\(redisPort)"
        let admin = try redisClient(redisURL)
        defer { admin.close() }
        let (worker, port) = try fixture.worker(environment: [
            "FRAISEQL_REDIS_URL": redisURL, "FRAISEQL_REDIS_COMMAND_TIMEOUT": "5s",
        ])
        try await worker.start(waitForPort: port)
        let event = order(8)
        try await fixture.publish(event)
        #expect(try await eventually { receiver.count == 1 }, "the request arrived; its answer comes 800 ms later")
        // Writes wait 2.5 s from now, so the event's done mark, written after the answer, waits too.
        _ = try await admin.execute("CLIENT", ["PAUSE", "2500", "WRITE"])
        try await Task.sleep(for: .milliseconds(1200))
        let stopping = ContinuousClock.now
        #expect(worker.stop() == 0, "SIGTERM exits 0")
        let stopTime = ContinuousClock.now - stopping
        #expect(stopTime >= .milliseconds(800), "it waited for the marks: \(stopTime)")
        let info = try await fixture.jetStream.consumerInfo(stream: fixture.stream, consumer: "workers")
        #expect(info.ackPending == 0 && info.redelivered == 0, "acked before the connection closed")
        let doneField = RedisArgument.string("\(event.id.lowercasedString):hook#0")
        #expect(
            try await admin.execute("HEXISTS", [.string(fixture.markHash("done", event)), doneField]) == .integer(1),
            "its done mark was written")
        #expect(receiver.count == 1)
        redisServer.stop()
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test("Redis down: dedup and done marks fail open, events are still delivered")
    func redisDown() async throws {
        let receiver = try await Receiver()
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "hook"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/hook"
                """)
        let deadRedis = "redis://127.0.0.1:\(try Stack.freePort())"
        let (worker, port) = try fixture.worker(environment: [
            "FRAISEQL_REDIS_URL": deadRedis, "FRAISEQL_REDIS_COMMAND_TIMEOUT": "200ms",
        ])
        try await worker.start(waitForPort: port)
        for id in 0..<5 { try await fixture.publish(order(id)) }
        #expect(try await eventually { receiver.requests.count == 5 })
        let ready = await httpGet("http://127.0.0.1:\(port)/health/ready")
        #expect(ready?.0 == 503 && ready?.1.contains(#""redis":false"#) == true, "reported, not hidden")
        let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
        #expect(metrics.contains("fraiseql_observer_store_errors_total"))
        #expect(worker.stop() == 0)
        await receiver.stop()
        await fixture.cleanUp()
    }

    @Test(
        "Redis down, or refusing writes (OOM under maxmemory): an event whose other action fails is retried in-process, so the action that succeeded is not repeated",
        arguments: ["down", "refusing writes"])
    func redisDownHeldEvent(redis condition: String) async throws {
        let flaky = Atomic(0)
        let receiver = try await Receiver { request, _ in
            guard request.path == "/flaky" else { return .init() }
            return flaky.add(1, ordering: .relaxed).newValue <= 2 ? .init(status: 503) : .init()
        }
        let fixture = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "notify"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/once"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/flaky"
                """,
            observer: """
                ack_wait = "2s"
                backoff = { kind = "fixed", base = "300ms", cap = "300ms", jitter = 0 }
                """)
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var ownRedis: ServerProcess?
        let redisURL: String
        if condition == "down" {
            redisURL = "redis://127.0.0.1:\(try Stack.freePort())"
        } else {
            // Reachable, reads answered, every write refused with an OOM error reply.
            let redisPort = try Stack.freePort()
            let server = ServerProcess.redisServer(port: redisPort, directory: directory)
            try await server.start(waitForPort: redisPort)
            ownRedis = server
            redisURL = "redis://127.0.0.1:\(redisPort)"
            let admin = try redisClient(redisURL)
            defer { admin.close() }
            _ = try await admin.execute("CONFIG", ["SET", "maxmemory-policy", "noeviction"])
            _ = try await admin.execute("CONFIG", ["SET", "maxmemory", "1"])
            let probe = try await admin.send(RedisCommand("SET", ["probe", "1"]))
            #expect(probe.isError, "writes are refused: \(probe)")
        }
        let (worker, port) = try fixture.worker(environment: [
            "FRAISEQL_REDIS_URL": redisURL, "FRAISEQL_REDIS_COMMAND_TIMEOUT": "200ms",
        ])
        try await worker.start(waitForPort: port)
        try await fixture.publish(order(1))
        #expect(try await eventually { receiver.requests.filter { $0.path == "/flaky" }.count == 3 })
        // Longer than ack_wait: a redelivery (which would call /once again) would show by now.
        try await Task.sleep(for: .seconds(3))
        #expect(receiver.requests.filter { $0.path == "/once" }.count == 1, "the succeeded action is not repeated")
        #expect(receiver.requests.filter { $0.path == "/flaky" }.count == 3)
        let info = try await fixture.jetStream.consumerInfo(stream: fixture.stream, consumer: "workers")
        #expect(info.ackPending == 0 && info.pending == 0 && info.redelivered == 0, "acked, never redelivered")
        #expect(await metricValue(port: port, "fraiseql_observer_store_errors_total") ?? 0 > 0, "counted")
        #expect(worker.stop() == 0)
        ownRedis?.stop()
        await receiver.stop()
        await fixture.cleanUp()
    }
}
