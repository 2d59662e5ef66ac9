import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Synchronization

/// The fleet benchmark's load side (scripts/bench-fleet.sh starts the services and the webhook
/// receiver, bench/http_sink.c, which appends each request's row id and CLOCK_MONOTONIC time
/// to a receipts file): writers commit order rows at an offered rate, and the latency of a row is
/// its first receipt − the moment its INSERT returned to the writer (committed), on the same clock. Also: the raw insert rate of the same writers into a table
/// without the trigger (PostgreSQL's own limit here), and the RSS of the service processes.
enum FleetBench {
    static let logger = Logger(label: "bench.fleet")

    /// Monotonic nanoseconds per row id: commit, first receipt (0: not yet).
    final class Timeline: Sendable {
        let commits: Mutex<[UInt64]>
        let receipts: Mutex<[UInt64]>
        let duplicates = Atomic<Int>(0)

        init(capacity: Int) {
            commits = Mutex([UInt64](repeating: 0, count: capacity))
            receipts = Mutex([UInt64](repeating: 0, count: capacity))
        }

        func committed(_ ids: [Int], at time: UInt64) {
            commits.withLock { for id in ids where id < $0.count { $0[id] = time } }
        }

        func received(_ id: Int, at time: UInt64) {
            receipts.withLock {
                guard id < $0.count else { return }
                if $0[id] == 0 { $0[id] = time } else { duplicates.add(1, ordering: .relaxed) }
            }
        }

        var receivedCount: Int { receipts.withLock { $0.lazy.filter { $0 != 0 }.count } }
    }

    /// CLOCK_MONOTONIC in nanoseconds, the receiver's clock.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Reads the receipts the receiver appended since the last call (16-byte records: row id,
    /// nanoseconds) into the timeline.
    final class ReceiptReader {
        let handle: FileHandle
        var pending: [UInt8] = []

        init(path: String) throws {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        }

        func read(into timeline: Timeline) throws {
            guard let data = try handle.readToEnd(), !data.isEmpty else { return }
            pending.append(contentsOf: data)
            let whole = pending.count / 16 * 16
            pending.withUnsafeBytes { bytes in
                for offset in stride(from: 0, to: whole, by: 16) {
                    let id = bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)
                    let time = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                    if id >= 0 { timeline.received(Int(id), at: time) }
                }
            }
            pending.removeFirst(whole)
        }
    }

    /// RSS in MB of a process (/proc/PID/status VmRSS), nil when it is gone.
    static func rss(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }

    /// Writers inserting batches of rows for `seconds`, at `rate` rows/s in total (0: as fast as
    /// they can). Returns the rows written.
    static func write(
        configuration: PostgresConnection.Configuration, table: String, writers: Int, rate: Int, seconds: Double,
        timeline: Timeline?
    ) async throws -> Int {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        // 100 commits per writer per second at most; a batch grows with the rate (20k rows/s: 50 rows).
        let batch = rate > 0 ? max(1, rate / writers / 100) : 50
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let connection = try await PostgresConnection.connect(
                        configuration: configuration, id: 100 + writer, logger: logger)
                    var written = 0
                    let perSecond = Double(rate) / Double(writers)
                    while clock.now < deadline {
                        let values = (0..<batch).map { _ in "('c', 'pending', 10)" }.joined(separator: ",")
                        let rows = try await connection.query(
                            PostgresQuery(
                                unsafeSQL:
                                    "INSERT INTO \(table) (customer, status, total) VALUES \(values) RETURNING id"),
                            logger: logger
                        ).collect()
                        let committed = now()
                        if let timeline {
                            timeline.committed(try rows.map { Int(try $0.decode(Int64.self)) }, at: committed)
                        }
                        written += batch
                        if rate > 0 {
                            let due = start + .milliseconds(Int64(Double(written) / perSecond * 1000))
                            if due > clock.now { try await Task.sleep(until: due) }
                        }
                    }
                    try await connection.close()
                    return written
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// `fleet-raw POSTGRES_URL WRITERS SECONDS` → rows/s into a table without the trigger.
    static func raw(postgresURL: String, writers: Int, seconds: Double) async throws {
        let configuration = try PostgresURL.configuration(postgresURL)
        let admin = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        try await admin.query(
            """
            CREATE TABLE IF NOT EXISTS orders_raw (id bigserial PRIMARY KEY, customer text, status text, total numeric)
            """, logger: logger)
        try await admin.close()
        let start = ContinuousClock.now
        let rows = try await write(
            configuration: configuration, table: "orders_raw", writers: writers, rate: 0, seconds: seconds,
            timeline: nil)
        print(String(format: "%.0f", Double(rows) / (ContinuousClock.now - start).seconds))
    }

    /// `fleet-load POSTGRES_URL RECEIPTS RATE SECONDS WRITERS PID…`: the writers, then the wait
    /// for every webhook's receipt in the receiver's RECEIPTS file. Prints
    /// `written/s delivered/s p50 p99 p999 duplicates rss-idle… rss-peak…` (ms, MB).
    static func load(
        postgresURL: String, receipts: String, rate: Int, seconds: Double, writers: Int, pids: [Int32]
    ) async throws {
        let configuration = try PostgresURL.configuration(postgresURL)
        let capacity = (rate > 0 ? Int(Double(rate) * seconds) : 400_000) + 100_000
        let timeline = Timeline(capacity: capacity)
        let reader = try ReceiptReader(path: receipts)
        try await Task.sleep(for: .seconds(1))  // the services settle after their start
        let idle = pids.map { rss($0) ?? 0 }
        let peak = Mutex(idle)
        let sampler = Task {
            while !Task.isCancelled {
                let current = pids.map { rss($0) ?? 0 }
                peak.withLock { for index in $0.indices { $0[index] = max($0[index], current[index]) } }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let firstCommit = now()
        let written = try await write(
            configuration: configuration, table: "orders", writers: writers, rate: rate, seconds: seconds,
            timeline: timeline)
        let writeSeconds = Double(now() - firstCommit) / 1e9
        // Wait for every webhook (bounded: a fleet that cannot keep up shows it as a lower rate).
        let waitStart = ContinuousClock.now
        try reader.read(into: timeline)
        while timeline.receivedCount < written, ContinuousClock.now - waitStart < .seconds(120) {
            try await Task.sleep(for: .milliseconds(50))
            try reader.read(into: timeline)
        }
        sampler.cancel()
        let (commits, receipts) = (timeline.commits.withLock { $0 }, timeline.receipts.withLock { $0 })
        var latencies: [Double] = []
        latencies.reserveCapacity(written)
        var lastReceipt: UInt64 = 0
        for id in commits.indices where commits[id] != 0 && receipts[id] != 0 {
            latencies.append(Double(Int64(receipts[id]) - Int64(commits[id])) / 1e6)
            lastReceipt = max(lastReceipt, receipts[id])
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let deliverSeconds = Double(lastReceipt - firstCommit) / 1e9
        let peaks = peak.withLock { $0 }
        print(
            String(
                format: "%.0f %.0f %.1f %.1f %.1f %d %d", Double(written) / writeSeconds,
                Double(latencies.count) / deliverSeconds, percentile(0.5), percentile(0.99), percentile(0.999),
                timeline.duplicates.load(ordering: .relaxed), written - latencies.count)
                + " " + idle.map { String(format: "%.0f", $0) }.joined(separator: ",") + " "
                + peaks.map { String(format: "%.0f", $0) }.joined(separator: ","))
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
