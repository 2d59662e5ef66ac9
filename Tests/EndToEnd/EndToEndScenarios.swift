import Config
import Contracts
import Foundation
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Redis
import Synchronization
import Testing

/// `make e2e`: the whole fleet as separate processes on its own servers, under load, with one
/// fault per scenario, checked against the truth outside the product: the primary keys the
/// writers' own statements returned and the application's table `orders` (never the product's
/// `fraiseql_observer` tables):
/// - every row of the table is in the stream exactly once as an insert, every paid row once as an
///   update, and nothing else is;
/// - every effect the rows call for (webhook, e-mail, HTTP job, Slack) reached its receiver at
///   least once, and every duplicate carries the same idempotency key (`webhook-id`, Message-ID,
///   `Idempotency-Key`); no tolerance for a missing row;
/// - raw duplicates stay under 0.1% of effects, and appear only where a process dies (or Redis
///   forgets) between an effect and its done mark;
/// - each fault took effect (a killed process ended by SIGKILL, a stopped server stopped
///   listening, the fleet or the writers met the outage);
/// - no secret, nor its base64 or URL-encoded form, appears in any service's log (shutdown
///   included), metrics, the CLI's reports or the dead letters.
/// Faults are timed by a seeded generator; correctness never rests on a sleep: every check waits
/// for a condition (bounded), and duplicates are counted once nothing is in flight any more.
@Suite("End-to-end scenarios", .serialized)
struct EndToEndScenarios {
    struct Outcome {
        var fleet: Fleet
        var summary: Summary
    }

    /// Starts the fleet, writes `rows` orders while `fault` runs, then checks the invariants.
    @discardableResult
    func scenario(
        _ name: String, rows: Int, rate: Int = 500, seed: UInt64, options: Fleet.Options = Fleet.Options(),
        duplicates: DuplicatePolicy, deadLetters: Int = 0,
        fault: @escaping @Sendable (Fleet, SeededRandom) async throws -> Void = { _, _ in }
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let started = clock.now
        let fleet = try await Fleet(options)
        try await fleet.start()
        async let load: Void = fleet.writeLoad(rows: rows, rate: rate, seed: seed)
        try await fault(fleet, SeededRandom(seed: seed &* 31))
        try await load

        // The truth: what the writers' statements answered, and the application's own table (a
        // statement whose answer was lost may still have committed: the table decides).
        let ledger = fleet.ledger.snapshot
        let orders = try await fleet.applicationOrders()
        // At least: a batch whose UPDATE failed is written again.
        #expect(ledger.inserted.count >= rows / 4 * 4, "the writers committed fewer rows than asked")
        #expect(
            ledger.inserted.allSatisfy { orders.totals[$0.key] == $0.value },
            "rows the writers saw committed are not in the application's table")
        #expect(ledger.paid.isSubset(of: orders.paid), "orders the writers marked paid are not paid in the table")

        // The stream: one insert event per row of the table, one update event per paid row.
        var events: Int?
        var missingEvents = 0
        var streamDuplicates = 0
        if !fleet.postgresTransport {
            let streamed = try await fleet.streamEvents(expected: orders.totals.count + orders.paid.count).events
            var inserts: [Int64: Int] = [:]
            var updates: [Int64: Int] = [:]
            var foreign = 0
            for event in streamed {
                guard let id = Int64(event.entityId), orders.totals[id] != nil else {
                    foreign += 1
                    continue
                }
                switch event.operation {
                case .insert: inserts[id, default: 0] += 1
                case .update: updates[id, default: 0] += 1
                case .delete: foreign += 1
                }
            }
            missingEvents =
                orders.totals.keys.filter { inserts[$0] == nil }.count + orders.paid.filter { updates[$0] == nil }.count
            streamDuplicates = (Array(inserts.values) + Array(updates.values)).reduce(0) { $0 + $1 - 1 }
            events = inserts.count + updates.count
            #expect(foreign == 0, "events for rows that are not in the application's table: \(foreign)")
            #expect(Set(streamed.map(\.id)).count == streamed.count, "the same event is in the stream twice")
        }
        let allDelivered = try await eventually(.seconds(180)) { fleet.effects(for: orders).lost.isEmpty }
        let quiet = try await fleet.waitForQuiet()
        let effects = fleet.effects(for: orders)
        let summary = Summary(
            scenario: name, writtenInserts: ledger.inserted.count, writtenUpdates: ledger.paid.count,
            tableRows: orders.totals.count, tablePaid: orders.paid.count, events: events,
            missingEvents: missingEvents, streamDuplicates: streamDuplicates, effects: effects,
            seconds: (clock.now - started).fractionalSeconds)
        print(summary)

        #expect(missingEvents == 0, "rows of the application's table missing from the stream: \(missingEvents)")
        #expect(streamDuplicates == 0, "a row's change is in the stream twice")
        #expect(allDelivered, "effects lost: \(effects.lost.prefix(10))")
        #expect(summary.losses == 0, "losses")
        #expect(quiet, "work still in flight after 3 minutes")
        #expect(
            effects.inconsistentKeys.isEmpty, "duplicates with different keys: \(effects.inconsistentKeys.prefix(5))")
        switch duplicates {
        case .none:
            #expect(effects.duplicates == 0, "raw duplicates without a crash")
        case .underOnePerMille:
            #expect(effects.duplicates * 1000 < effects.raw, "raw duplicates over 0.1%")
        }
        let redis = try fleet.redisConnection()
        let observerLetters =
            fleet.postgresTransport
            ? Int64(try await fleet.count("SELECT count(*)::int FROM fraiseql_observer.dead_letters"))
            : try await redis.xlen(RedisKeys().observerDeadLetters)
        let jobLetters = try await redis.xlen(RedisKeys().jobs("default").deadLetters)
        #expect(observerLetters == Int64(deadLetters), "observer dead letters")
        #expect(jobLetters == 0, "job dead letters")
        // No secret in metrics, CLI output, dead letters, or any log, shutdown included.
        let live = try await fleet.liveOutputs()
        for (service, code) in fleet.stopServices() { #expect(code == 0, "\(service) exited with \(code)") }
        let leaks = fleet.secretsIn(live)
        #expect(leaks.isEmpty, "secrets in the output: \(leaks)")
        return Outcome(fleet: fleet, summary: summary)
    }

    enum DuplicatePolicy {
        /// Nothing dies between an effect and its done mark: no duplicates at all.
        case none
        /// A process dies (or Redis forgets marks): duplicates under 0.1% of effects.
        case underOnePerMille
    }

    @Test("baseline: no fault, debug logs free of secrets", .timeLimit(.minutes(5)))
    func baseline() async throws {
        var options = Fleet.Options()
        options.logLevel = "debug"
        let outcome = try await scenario("baseline", rows: 2000, seed: 1, options: options, duplicates: .none)
        // Every webhook's signature, checked by the reference implementation (PyPI standardwebhooks).
        let webhooks = outcome.fleet.receiver.requests.filter { $0.path == "/created" }
        let (code, output) = try verifySignatures(webhooks, secret: outcome.fleet.signingSecret)
        print(
            "e2e baseline: \(webhooks.count) webhook signatures checked by standardwebhooks: \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        )
        #expect(code == 0, "\(output)")
        #expect(output.contains("verified \(webhooks.count)"))
    }

    @Test("kill -9 of the bridge leader, a worker and the job-worker at random moments", .timeLimit(.minutes(5)))
    func killServices() async throws {
        var options = Fleet.Options()
        options.bridges = 2
        try await scenario("kill-services", rows: 10_000, seed: 2, options: options, duplicates: .underOnePerMille) {
            fleet, random in
            var random = random
            let clock = ContinuousClock()
            for round in 0..<6 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1500...3000, using: &random)))
                switch round % 3 {
                case 0:
                    let leader = try #require(await fleet.bridgeLeader(), "no bridge leader")
                    #expect(leader.process.stop(kill: true) == 128 + SIGKILL)
                    let killed = clock.now
                    let standby = fleet.services("pg-bridge").first { $0 !== leader }!
                    let tookOver = try await eventually(.seconds(30)) { await leaderGauge(standby.metricsURL) == 1 }
                    #expect(tookOver, "the standby bridge did not take over")
                    print("e2e kill-services: bridge takeover in \((clock.now - killed).fractionalSeconds) s")
                    try await leader.process.start(waitForPort: leader.port)
                case 1:
                    let workers = fleet.services("observer-worker")
                    let status = try await workers[Int.random(in: 0..<workers.count, using: &random)].restart()
                    #expect(status == 128 + SIGKILL, "the worker was not killed (\(status))")
                default:
                    let status = try await fleet.services("job-worker")[0].restart()
                    #expect(status == 128 + SIGKILL, "the job-worker was not killed (\(status))")
                }
            }
        }
    }

    @Test("NATS restart mid-load", .timeLimit(.minutes(5)))
    func natsRestart() async throws {
        try await scenario("nats-restart", rows: 6000, seed: 3, duplicates: .none) { fleet, random in
            var random = random
            try await Task.sleep(for: .milliseconds(Int.random(in: 2000...4000, using: &random)))
            fleet.nats.nodes[0].stop()
            #expect(!ServerProcess.canConnect(port: fleet.nats.ports[0]), "NATS still listening")
            // The fleet noticed: a worker reports not ready while NATS is away.
            let worker = fleet.services("observer-worker")[0]
            let noticed = try await eventually(.seconds(5)) { await httpGet(worker.readyURL)?.0 == 503 }
            #expect(noticed, "no worker reported NATS missing")
            try await fleet.nats.nodes[0].start(waitForPort: fleet.nats.ports[0])
        }
    }

    @Test("3-node NATS cluster, R3 stream: one node killed and restarted", .timeLimit(.minutes(5)))
    func natsCluster() async throws {
        var options = Fleet.Options()
        options.natsNodes = 3
        try await scenario("nats-cluster", rows: 6000, seed: 4, options: options, duplicates: .none) { fleet, random in
            var random = random
            try await Task.sleep(for: .milliseconds(Int.random(in: 2000...4000, using: &random)))
            let node = Int.random(in: 0..<3, using: &random)
            #expect(fleet.nats.nodes[node].stop(kill: true) == 128 + SIGKILL)
            #expect(!ServerProcess.canConnect(port: fleet.nats.ports[node]), "the NATS node still listening")
            try await Task.sleep(for: .seconds(3))
            try await fleet.nats.nodes[node].start(waitForPort: fleet.nats.ports[node])
        }
    }

    @Test(
        "Redis killed and restarted mid-load, at the recommended persistence (appendfsync everysec): dedup fails open, duplicates measured",
        .timeLimit(.minutes(5)))
    func redisRestart() async throws {
        var options = Fleet.Options()
        // docs/deployment.md's recommendation. A process crash loses no acknowledged write under
        // any appendfsync setting (Redis writes the file before it answers); a machine crash
        // loses up to a second here (docs/deployment.md).
        options.redisFsync = "everysec"
        try await scenario("redis-restart", rows: 6000, seed: 5, options: options, duplicates: .underOnePerMille) {
            fleet, random in
            var random = random
            try await Task.sleep(for: .milliseconds(Int.random(in: 2000...4000, using: &random)))
            #expect(fleet.redis.process.stop(kill: true) == 128 + SIGKILL)
            #expect(!ServerProcess.canConnect(port: fleet.redis.port), "Redis still listening")
            try await Task.sleep(for: .seconds(2))
            try await fleet.redis.process.start(waitForPort: fleet.redis.port)
            // The workers met the outage: their store errors are counted.
            var errors = 0.0
            for worker in fleet.services("observer-worker") {
                errors += await metricValue(port: worker.port, "fraiseql_observer_store_errors_total") ?? 0
            }
            #expect(errors > 0, "no worker counted a Redis error: the fault did not take effect")
        }
    }

    @Test(
        "PostgreSQL-only topology (observer.transport = postgres): PostgreSQL restart mid-load", .timeLimit(.minutes(5))
    )
    func postgresTransportRestart() async throws {
        var options = Fleet.Options()
        options.transport = "postgres"
        // A restart repeats what is in flight in both workers (2 × max_in_flight 4 events, one
        // action each but for the rare e-mail): up to ~8 effects, measured 2-8. Enough rows that
        // this stays well under the 0.1% bound (15,600 effects).
        let outcome = try await scenario(
            "postgres-transport", rows: 12_000, seed: 10, options: options, duplicates: .underOnePerMille
        ) {
            fleet, random in
            var random = random
            try await Task.sleep(for: .milliseconds(Int.random(in: 2000...4000, using: &random)))
            try fleet.postgres.stop()
            #expect(!ServerProcess.canConnect(port: fleet.postgres.port), "PostgreSQL still listening")
            try await Task.sleep(for: .seconds(2))
            try fleet.postgres.start()
        }
        #expect(outcome.fleet.ledger.snapshot.failures > 0, "the writers never met the restart")
    }

    @Test("PostgreSQL restart mid-load", .timeLimit(.minutes(5)))
    func postgresRestart() async throws {
        let outcome = try await scenario("postgres-restart", rows: 6000, seed: 6, duplicates: .none) {
            fleet, random in
            var random = random
            try await Task.sleep(for: .milliseconds(Int.random(in: 2000...4000, using: &random)))
            try fleet.postgres.stop()
            #expect(!ServerProcess.canConnect(port: fleet.postgres.port), "PostgreSQL still listening")
            try await Task.sleep(for: .seconds(2))
            try fleet.postgres.start()
        }
        #expect(outcome.fleet.ledger.snapshot.failures > 0, "the writers never met the restart")
    }

    @Test(
        "a slow and failing webhook receiver: 30% 503, 3% hang past the timeout, 10% answer 200 after 300–700 ms",
        .timeLimit(.minutes(5)))
    func failingReceiver() async throws {
        var options = Fleet.Options()
        options.webhookTimeout = "1s"
        options.respond = { _, index in
            var random = SeededRandom(seed: UInt64(index) &+ 7)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30: return Receiver.Reply(status: 503)
            case 30..<33: return Receiver.Reply(status: 503, delay: .milliseconds(1500))
            // Slow but within the timeout: delivered once, never retried.
            case 33..<43: return Receiver.Reply(delay: .milliseconds(300 + 100 * (index % 5)))
            default: return Receiver.Reply()
            }
        }
        let outcome = try await scenario("failing-receiver", rows: 3000, seed: 7, options: options, duplicates: .none)
        let refused = outcome.fleet.receiver.requests.filter { !$0.accepted }.count
        print("e2e failing-receiver: \(refused) deliveries refused or timed out, then retried")
        #expect(refused > 0)
    }

    @Test("poison messages go to the dead-letter queue, the rest flows", .timeLimit(.minutes(5)))
    func poisonMessages() async throws {
        let poison: [[UInt8]] =
            (0..<10).map { Array("not json \($0)".utf8) } + (0..<10).map { Array("{\"unexpected\": \($0)}".utf8) }
        let outcome = try await scenario("poison", rows: 3000, seed: 8, duplicates: .none, deadLetters: poison.count) {
            fleet, _ in
            let jetStream = try await fleet.jetStream()
            try await Task.sleep(for: .seconds(1))
            for payload in poison {
                _ = try await jetStream.publish(
                    OutgoingMessage(subject: "entity.change.order.insert", payload: payload))
            }
        }
        let redis = try outcome.fleet.redisConnection()
        let letters = try await redis.execute(
            "XRANGE", [.string(RedisKeys().observerDeadLetters), .string("-"), .string("+")])
        let entries = letters.array ?? []
        let text = Fleet.strings(letters).joined(separator: "\n")
        print("e2e poison: \(poison.count) poison messages, \(entries.count) dead letters")
        #expect(entries.count == poison.count)
        #expect(text.contains("not json"), "the dead letters keep the original payload")
    }
}

extension EndToEndScenarios {
    @Test(
        "TLS to NATS, Redis and PostgreSQL with a self-signed CA; a certificate from another CA is refused",
        .timeLimit(.minutes(5)))
    func tls() async throws {
        var options = Fleet.Options()
        options.tls = true
        let outcome = try await scenario("tls", rows: 1000, seed: 9, options: options, duplicates: .none)
        let fleet = outcome.fleet
        // The same servers, from clients that trust another CA only.
        let stranger = try selfSignedCertificate().cert
        await #expect(throws: (any Error).self, "NATS accepted a certificate from another CA") {
            let connection = try await NATSConnection.connect(
                NATSClientConfiguration(
                    url: fleet.nats.url(scheme: "tls"), name: "stranger", tls: TLSFiles(caFile: stranger)))
            connection.close()
        }
        var redisSettings = try RedisClientConfiguration(url: fleet.redis.url)
        redisSettings.tls = TLSFiles(caFile: stranger)
        await #expect(throws: (any Error).self, "Redis accepted a certificate from another CA") {
            _ = try await RedisClient(configuration: redisSettings).execute("PING")
        }
        let url = fleet.postgres.url(database: "app") + "?sslmode=verify-full&sslrootcert=\(stranger)"
        await #expect(throws: (any Error).self, "PostgreSQL accepted a certificate from another CA") {
            let connection = try await PostgresConnection.connect(
                configuration: try PostgresURL.configuration(url), id: 1, logger: Logger(label: "e2e"))
            try await connection.close()
        }
        // And the trusted CA works from a client too (the refusals above are about the CA).
        _ = try await fleet.redisConnection().execute("PING")
        print("e2e tls: NATS, Redis and PostgreSQL refused a certificate from another CA")
    }
}
