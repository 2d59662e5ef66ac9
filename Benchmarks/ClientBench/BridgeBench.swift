import BridgeEngine
import Contracts
import Foundation
import Logging
import NATS
import PostgresChangeLog
import PostgresNIO
import Runtime

/// `make bench-bridge` cases, each on a fresh database and stream.
enum BridgeBench {
    static let logger: Logger = {
        var logger = Logger(label: "bench")
        if ProcessInfo.processInfo.environment["BENCH_TRACE"] == "1" { logger.logLevel = .trace }
        return logger
    }()

    struct Fixture {
        let database: PostgresConnection.Configuration
        let jetStream: JetStream
        let stream: String
        let prefix: String
    }

    static func fixture(postgresURL: String, natsURL: String) async throws -> Fixture {
        let name = "bench_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(postgresURL), id: 1, logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        try await admin.close()
        var components = URLComponents(string: postgresURL)!
        components.path = "/\(name)"
        let database = try PostgresURL.configuration(components.string!)
        let connection = try await PostgresConnection.connect(configuration: database, id: 2, logger: logger)
        try await connection.query(
            "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text, status text, total numeric, writer int, seq int)",
            logger: logger)
        try await connection.close()
        try await ChangeLogInstaller.install(
            configuration: database,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: logger)
        let nats = try await NATSConnection.connect(NATSClientConfiguration(url: natsURL, name: "bench"))
        let jetStream = try nats.jetStream()
        let stream = name.uppercased()
        try await jetStream.ensureStream(
            StreamConfiguration(name: stream, subjects: ["\(name).>"], duplicateWindow: .seconds(120)))
        return Fixture(database: database, jetStream: jetStream, stream: stream, prefix: name)
    }

    static func bridge(_ fixture: Fixture) throws -> BridgeService<PostgresChangeSource> {
        BridgeService(
            source: PostgresChangeSource(configuration: fixture.database, transportName: "bench"),
            publisher: fixture.jetStream,
            configuration: BridgeSettings(
                transportName: "bench", subjectNamer: try SubjectNamer(prefix: fixture.prefix), batchSize: 1000,
                pollInterval: .milliseconds(200)),
            logger: logger)
    }

    static func waitFor(_ fixture: Fixture, count: UInt64) async throws {
        while try await fixture.jetStream.streamInfo(fixture.stream).messages < count {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// (a) A backlog of `rows` unpublished rows drained to JetStream. Prints events/s and the mean payload bytes.
    static func drain(postgresURL: String, natsURL: String, rows: Int) async throws {
        let fixture = try await fixture(postgresURL: postgresURL, natsURL: natsURL)
        let connection = try await PostgresConnection.connect(configuration: fixture.database, id: 3, logger: logger)
        try await connection.query(
            """
            INSERT INTO orders (customer, status, total, writer, seq)
            SELECT 'customer-' || g, 'pending', g * 1.5, 0, g FROM generate_series(1, \(rows)) AS g
            """, logger: logger)
        try await connection.close()
        let bridge = try bridge(fixture)
        let clock = ContinuousClock()
        let start = clock.now
        let task = Task { try await bridge.run() }
        try await waitFor(fixture, count: UInt64(rows))
        let elapsed = seconds(clock.now - start)
        task.cancel()
        let info = try await fixture.jetStream.streamInfo(fixture.stream)
        print(String(format: "%.0f %.0f", Double(rows) / elapsed, Double(info.bytes) / Double(info.messages)))
        try await fixture.jetStream.deleteStream(fixture.stream)
    }

    /// (b) `writers` writers for `duration` (at `rate` rows/s in total, or as fast as possible when 0),
    /// with the bridge running. Prints write rate, publish rate, capture→stored latency p50/p99 (ms),
    /// and the seconds the bridge needed after the writers stopped.
    static func live(postgresURL: String, natsURL: String, writers: Int, duration: Duration, rate: Int) async throws {
        let fixture = try await fixture(postgresURL: postgresURL, natsURL: natsURL)
        let bridge = try bridge(fixture)
        let task = Task { try await bridge.run() }
        try await Task.sleep(for: .milliseconds(500))
        let clock = ContinuousClock()
        let start = clock.now
        let written = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let connection = try await PostgresConnection.connect(
                        configuration: fixture.database, id: 10 + writer, logger: logger)
                    var seq = 0
                    let interval: Duration? =
                        rate > 0 ? .nanoseconds(1_000_000_000 * Int64(writers) / Int64(rate)) : nil
                    var next = clock.now
                    while clock.now - start < duration {
                        try await connection.query(
                            "INSERT INTO orders (customer, status, total, writer, seq) VALUES ('c', 'pending', 1.5, \(writer), \(seq))",
                            logger: logger)
                        seq += 1
                        if let interval {
                            next = next.advanced(by: interval)
                            if next > clock.now { try await Task.sleep(until: next) }
                        }
                    }
                    try await connection.close()
                    return seq
                }
            }
            return try await group.reduce(0, +)
        }
        let writeElapsed = seconds(clock.now - start)
        let publishedInWindow = try await fixture.jetStream.streamInfo(fixture.stream).messages
        let stopped = clock.now
        try await waitFor(fixture, count: UInt64(written))
        let catchUp = seconds(clock.now - stopped)
        task.cancel()
        // Latency: JetStream's stored timestamp minus the capture time written by the trigger.
        let subscription = try fixture.jetStream.orderedSubscribe(subject: "\(fixture.prefix).>", start: .all)
        var latencies: [Double] = []
        latencies.reserveCapacity(written)
        while latencies.count < written, let message = try await subscription.next(timeout: .seconds(5)) {
            let event = try WireFormat.decode(EntityEvent.self, from: message.payload)
            if let stored = message.metadata?.timestamp {
                latencies.append(Double(stored / 1000 - event.occurredAt.microsecondsSinceEpoch) / 1000)
            }
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        print(
            String(
                format: "%.0f %.0f %.2f %.2f %.2f", Double(written) / writeElapsed,
                Double(publishedInWindow) / writeElapsed,
                percentile(0.5), percentile(0.99), catchUp))
        try await fixture.jetStream.deleteStream(fixture.stream)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
