import Contracts
import Foundation
import MariaDB
import Testing

/// Concurrent writers on an `orders (id, writer, seq)` table, and the check that a stream holds
/// every row exactly once with each writer's rows in the order it committed them.
enum MySQLBridgeWorkload {
    static let table = "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, writer INT, seq INT)"
    static let tables = ["table = \"orders\"\nentity = \"order\""]

    /// `writers` writers inserting `rows` rows each (one per transaction), and, when `late` > 0,
    /// one more writer (number `writers`) whose `late` transactions each stay open 100–400 ms
    /// while the others commit around them.
    static func write(_ database: MySQLTestDatabase, writers: Int, rows: Int, late: Int = 0) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let connection = try await database.connect()
                    for seq in 0..<rows {
                        try await connection.query(
                            "INSERT INTO orders (writer, seq) VALUES (?, ?)", [.int(Int64(writer)), .int(Int64(seq))])
                    }
                    await connection.close()
                }
            }
            if late > 0 {
                group.addTask {
                    let connection = try await database.connect()
                    var random = SeededRandom(seed: 7)
                    for seq in 0..<late {
                        try await connection.query("START TRANSACTION")
                        try await connection.query(
                            "INSERT INTO orders (writer, seq) VALUES (?, ?)", [.int(Int64(writers)), .int(Int64(seq))])
                        try await Task.sleep(for: .milliseconds(Int.random(in: 100...400, using: &random)))
                        try await connection.query("COMMIT")
                    }
                    await connection.close()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Every row once, each writer's rows in order (`late` rows for the last writer).
    static func verify(
        _ fixture: MySQLBridgeFixture, _ bridge: MySQLBridgeFixture.Bridge, writers: Int, rows: Int, late: Int = 0
    ) async throws {
        let total = writers * rows + late
        let events = try await fixture.events(bridge, expected: total, timeout: .seconds(180))
        let count = try await fixture.jetStream.streamInfo(bridge.stream).messages
        var perWriter = [[Int64]](repeating: [], count: writers + 1)
        for event in events {
            guard case .int(let writer)? = event.after?["writer"], case .int(let seq)? = event.after?["seq"] else {
                Issue.record("event without writer/seq")
                continue
            }
            perWriter[Int(writer)].append(seq)
        }
        print(
            "\(bridge.capture): \(count) messages in the stream for \(total) rows, \(Set(events.map(\.id)).count) distinct ids"
        )
        #expect(count == UInt64(total))
        #expect(events.count == total)
        #expect(Set(events.map(\.id)).count == total)
        for writer in 0..<writers {
            #expect(
                perWriter[writer] == (0..<Int64(rows)).map { $0 }, "writer \(writer): lost, duplicated or out of order")
        }
        #expect(
            perWriter[writers] == (0..<Int64(late)).map { $0 },
            "the late writer's rows: lost, duplicated or out of order")
    }

    /// Starts and kills -9 the bridge at random moments (fixed seed) while `work` runs.
    static func killRepeatedly(
        _ fixture: MySQLBridgeFixture, _ bridge: MySQLBridgeFixture.Bridge,
        while work: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await work() }
            group.addTask {
                var random = SeededRandom(seed: 42)
                for _ in 0..<12 {
                    let (process, port) = try fixture.process(bridge)
                    try await process.start(waitForPort: port)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 200...1200, using: &random)))
                    process.stop(kill: true)
                }
            }
            try await group.waitForAll()
        }
    }

    /// Two bridges; the leader killed -9 under load: the standby takes over within 5 s.
    static func failover(_ fixture: MySQLBridgeFixture, _ bridge: MySQLBridgeFixture.Bridge) async throws {
        let (leader, leaderPort) = try fixture.process(bridge)
        try await leader.start(waitForPort: leaderPort)
        let (standby, standbyPort) = try fixture.process(bridge)
        defer { standby.stop() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await write(fixture.database, writers: 2, rows: 2000) }
            group.addTask {
                _ = try await waitForCount(fixture.jetStream, stream: bridge.stream, atLeast: 300)
                try await standby.start(waitForPort: standbyPort)
                try await Task.sleep(for: .seconds(1))
                let metricsURL = "http://127.0.0.1:\(standbyPort)/metrics"
                #expect(await leaderGauge(metricsURL) == 0, "the standby should not publish while the leader lives")
                let clock = ContinuousClock()
                let killedAt = clock.now
                leader.stop(kill: true)
                while await leaderGauge(metricsURL) != 1, clock.now - killedAt < .seconds(30) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let takeover = clock.now - killedAt
                print("\(bridge.capture) failover: the standby took over \(takeover) after kill -9 of the leader")
                #expect(takeover < .seconds(5))
            }
            try await group.waitForAll()
        }
        try await verify(fixture, bridge, writers: 2, rows: 2000)
    }
}
