import BridgeEngine
import BridgeEngineTesting
import Contracts
import Foundation
import MariaDB
import MySQLChangeLog
import Testing

/// Everything that reads the binlog, one test at a time: the binlog conformance check for
/// retention purges the server's binlog files, which no other binlog reader may be using then.
@Suite("mysql-bridge binlog mode", .serialized)
struct MySQLBinlogTests {
    static let suite = BridgeConformance(harness: MySQLBinlogHarness())

    @Test("conformance (binlog mode)", arguments: suite.checks.map(\.name))
    func conformance(_ name: String) async throws {
        let check = try #require(Self.suite.checks.first { $0.name == name })
        try await check.run()
    }
}

extension MySQLBinlogTests {
    @Test(
        "every column type: inserts, updates and deletes on two tables arrive with the written images in both modes, and the two modes publish the same images"
    )
    func columnTypesInBothModes() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLColumnTypes.kindsTable, MySQLColumnTypes.notesTable)
        let trigger = try await fixture.bridge(capture: "trigger", tables: MySQLColumnTypes.tables)
        let binlog = try await fixture.bridge(capture: "binlog", tables: MySQLColumnTypes.tables)
        let connection = try await fixture.database.connect()
        for statement in MySQLColumnTypes.statements { try await connection.query(statement) }
        await connection.close()
        let (triggerProcess, triggerPort) = try fixture.process(trigger)
        let (binlogProcess, binlogPort) = try fixture.process(binlog)
        try await triggerProcess.start(waitForPort: triggerPort)
        defer { triggerProcess.stop() }
        try await binlogProcess.start(waitForPort: binlogPort)
        defer { binlogProcess.stop() }
        let expected = MySQLColumnTypes.expected
        var published: [String: [EntityEvent]] = [:]
        for bridge in [trigger, binlog] {
            let events = try await fixture.events(bridge, expected: MySQLColumnTypes.eventCount)
            published[bridge.capture] = events
            #expect(events.count == expected.count, "\(bridge.capture): \(events.count) events")
            for (event, want) in zip(events, expected) {
                let label = "\(bridge.capture) \(want.0) \(want.1) \(want.2)"
                #expect(event.entityType == want.0, "\(label)")
                #expect(event.entityId == want.1, "\(label)")
                #expect(event.operation == want.2, "\(label)")
                #expect(event.source == bridge.transport, "\(label)")
                for (name, image, wanted) in [("before", event.before, want.3), ("after", event.after, want.4)] {
                    #expect(image?.count == wanted?.count, "\(label) \(name) columns")
                    for (column, value) in wanted ?? [:] {
                        #expect(image?[column] == value, "\(label) \(name).\(column)")
                    }
                }
                if event.entityType == "note" { #expect(event.tenantId == "acme", "\(label) tenant") }
                if event.operation == .update {
                    #expect(event.changes == EntityEvent.diff(before: want.3 ?? [:], after: want.4 ?? [:]), "\(label)")
                }
            }
        }
        // The differential: one workload, the same images from the triggers and from the binlog.
        let fromTriggers = published["trigger"] ?? []
        let fromBinlog = published["binlog"] ?? []
        #expect(fromTriggers.count == fromBinlog.count)
        for (a, b) in zip(fromTriggers, fromBinlog) {
            #expect(
                a.before == b.before && a.after == b.after && a.changes == b.changes,
                "\(a.entityType) \(a.entityId) \(a.operation)")
            #expect(a.id != b.id, "two sources, two ids")
        }
    }
}

extension MySQLBinlogTests {
    @Test(
        "binlog mode: kill -9 of the bridge while 4 writers insert 20,000 rows: exactly one event per row, each writer's in order"
    )
    func crashSafety() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try await fixture.bridge(capture: "binlog", tables: MySQLBridgeWorkload.tables)
        try await MySQLBridgeWorkload.killRepeatedly(fixture, bridge) {
            try await MySQLBridgeWorkload.write(fixture.database, writers: 4, rows: 5000, late: 25)
        }
        let (process, port) = try fixture.process(bridge)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        try await MySQLBridgeWorkload.verify(fixture, bridge, writers: 4, rows: 5000, late: 25)
    }

    @Test("binlog mode failover: kill -9 the leader mid-load, the standby takes over; nothing lost or duplicated")
    func failover() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        try await MySQLBridgeWorkload.failover(
            fixture, try await fixture.bridge(capture: "binlog", tables: MySQLBridgeWorkload.tables))
    }

    @Test(
        "binlog mode: the binlog holding the checkpoint purged: not ready, resync metric 1, the reason in the log; nothing published past it"
    )
    func purgedBinlog() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try await fixture.bridge(capture: "binlog", tables: MySQLBridgeWorkload.tables)
        try await MySQLBridgeWorkload.write(fixture.database, writers: 1, rows: 10)
        let harness = MySQLBinlogHarness()
        let database = fixture.database
        try await database.execute("FLUSH BINARY LOGS")
        let current = try #require(try await harness.currentBinlog(database))
        var purged = false
        for _ in 0..<100 where !purged {
            try await database.execute("PURGE BINARY LOGS TO '\(current)'")
            let connection = try await database.connect()
            purged = try await connection.query("SHOW BINARY LOGS").rows.count == 1
            await connection.close()
            if !purged { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(purged)
        try await MySQLBridgeWorkload.write(fixture.database, writers: 1, rows: 5)
        let log = try Stack.temporaryDirectory().appendingPathComponent("bridge.log")
        let (process, port) = try Binaries.service("mysql-bridge", config: bridge.configPath, logFile: log)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        #expect(
            try await eventually {
                let answer = await httpGet("http://127.0.0.1:\(port)/health/ready")
                return answer?.0 == 503 && answer?.1.contains(#""bridge":false"#) == true
            }, "not ready while a resync is required")
        let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
        let gauge = metrics.split(separator: "\n").first { $0.hasPrefix("fraiseql_bridge_resync_required") }
        #expect(
            gauge.flatMap { Double($0.split(separator: " ").last ?? "") } == 1,
            "\(gauge ?? "no fraiseql_bridge_resync_required")")
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("was purged"), "the log names the reason")
        #expect(try await fixture.jetStream.streamInfo(bridge.stream).messages == 0)
    }
}

extension MySQLBinlogTests {
    @Test("binlog mode follows ALTER TABLE mid-stream: each row is published with the columns it was written with")
    func schemaChangeMidStream() async throws {
        let fixture = try await MySQLBridgeFixture.create(
            "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2))")
        let bridge = try await fixture.bridge(capture: "binlog", tables: ["table = \"items\"\nentity = \"item\""])
        let (process, port) = try fixture.process(bridge)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        try await fixture.database.execute(
            "INSERT INTO items VALUES (1, 'before', 1.50)",
            "ALTER TABLE items ADD COLUMN color ENUM('red', 'blue') AFTER name, MODIFY price DECIMAL(10,3)",
            "INSERT INTO items VALUES (2, 'added', 'blue', 2.125)",
            "ALTER TABLE items DROP COLUMN name",
            "UPDATE items SET color = 'red' WHERE id = 2")
        let events = try await fixture.events(bridge, expected: 3)
        try #require(events.count == 3)
        #expect(events[0].after == ["id": .int(1), "name": .string("before"), "price": .double(1.5)])
        #expect(
            events[1].after == [
                "id": .int(2), "name": .string("added"), "color": .string("blue"), "price": .double(2.125),
            ])
        #expect(events[2].before == ["id": .int(2), "color": .string("blue"), "price": .double(2.125)])
        #expect(events[2].after == ["id": .int(2), "color": .string("red"), "price": .double(2.125)])
        #expect(events[2].changes == ["color": FieldChange(old: .string("blue"), new: .string("red"))])
    }
}
