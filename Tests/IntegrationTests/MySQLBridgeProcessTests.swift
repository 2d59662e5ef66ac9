import Foundation
import Testing

/// mysql-bridge in trigger mode as separate processes, killed with SIGKILL.
@Suite("mysql-bridge processes (trigger mode)", .serialized)
struct MySQLBridgeProcessTests {
    @Test(
        "kill -9 of the bridge while 4 writers insert 20,000 rows and transactions commit late: exactly one event per row, each writer's in order"
    )
    func crashSafety() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
        try await MySQLBridgeWorkload.killRepeatedly(fixture, bridge) {
            try await MySQLBridgeWorkload.write(fixture.database, writers: 4, rows: 5000, late: 25)
        }
        let (process, port) = try fixture.process(bridge)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        try await MySQLBridgeWorkload.verify(fixture, bridge, writers: 4, rows: 5000, late: 25)
    }

    @Test("failover: kill -9 the leader mid-load, the standby takes over; nothing lost or duplicated")
    func failover() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        try await MySQLBridgeWorkload.failover(
            fixture, try fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables))
    }

    @Test("install: a missing table or column exits 2 naming the key; --print shows the triggers; re-running is safe")
    func install() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
        // Again: tables kept, triggers replaced.
        let (again, againErrors) = try Binaries.run("mysql-bridge", ["install", "--config", bridge.configPath])
        #expect(again == 0, "\(againErrors)")
        let config = try String(contentsOfFile: bridge.configPath, encoding: .utf8)
        for (broken, key) in [
            (
                config.replacingOccurrences(of: "entity = \"order\"", with: "entity = \"order\"\nid_column = \"nope\""),
                "bridge.tables[0].id_column"
            ),
            (
                config.replacingOccurrences(of: "table = \"orders\"", with: "table = \"missing\""),
                "bridge.tables[0].table"
            ),
        ] {
            let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
            try broken.write(toFile: path, atomically: true, encoding: .utf8)
            let (status, errors) = try Binaries.run("mysql-bridge", ["install", "--config", path])
            #expect(status == 2, "\(key): \(errors)")
            #expect(errors.contains(key), "\(errors)")
        }
        let printed = try Binaries.output("mysql-bridge", ["install", "--print", "--config", bridge.configPath])
        #expect(printed.0 == 0)
        #expect(printed.1.contains("CREATE OR REPLACE TRIGGER") && printed.1.contains("JSON_OBJECT('id'"))
        // Rows written before and after the re-install are all captured once.
        try await MySQLBridgeWorkload.write(fixture.database, writers: 1, rows: 50)
        let (process, port) = try fixture.process(bridge)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        try await MySQLBridgeWorkload.verify(fixture, bridge, writers: 1, rows: 50)
    }
}

extension MySQLBridgeProcessTests {
    @Test("/health/ready is false while MySQL is unreachable, true with it")
    func readiness() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
        let (cutOff, cutOffPort) = try Binaries.service(
            "mysql-bridge", config: bridge.configPath,
            environment: ["FRAISEQL_MYSQL_URL": "mysql://root@127.0.0.1:\(try Stack.freePort())/app"])
        try await cutOff.start(waitForPort: cutOffPort)
        #expect(
            try await eventually {
                let answer = await httpGet("http://127.0.0.1:\(cutOffPort)/health/ready")
                return answer?.0 == 503 && answer?.1.contains(#""mysql":false"#) == true
            }, "not ready without MySQL")
        #expect(await httpGet("http://127.0.0.1:\(cutOffPort)/health/live")?.0 == 200, "alive: it retries")
        #expect(cutOff.stop() == 0)
        let (process, port) = try fixture.process(bridge)
        try await process.start(waitForPort: port)
        #expect(try await eventually { await httpGet("http://127.0.0.1:\(port)/health/ready")?.0 == 200 })
        #expect(process.stop() == 0)
    }
}
