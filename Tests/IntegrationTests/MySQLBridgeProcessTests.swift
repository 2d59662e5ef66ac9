import BridgeEngine
import Foundation
import Logging
import MariaDB
import MySQLChangeLog
import Testing

/// mysql-bridge in trigger mode as separate processes, killed with SIGKILL.
@Suite("mysql-bridge processes (trigger mode)", .serialized)
struct MySQLBridgeProcessTests {
    @Test(
        "kill -9 of the bridge while 4 writers insert 20,000 rows and transactions commit late: exactly one event per row, each writer's in order"
    )
    func crashSafety() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try await fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
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
            fixture, try await fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables))
    }

    @Test("install: a missing table or column exits 2 naming the key; --print shows the triggers; re-running is safe")
    func install() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try await fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
        // Again: tables kept, triggers replaced.
        let (again, againErrors) = try await Binaries.run("mysql-bridge", ["install", "--config", bridge.configPath])
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
            let (status, errors) = try await Binaries.run("mysql-bridge", ["install", "--config", path])
            #expect(status == 2, "\(key): \(errors)")
            #expect(errors.contains(key), "\(errors)")
        }
        let printed = try await Binaries.output("mysql-bridge", ["install", "--print", "--config", bridge.configPath])
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
        let bridge = try await fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
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

extension MySQLBridgeProcessTests {
    @Test("trigger mode retention: published rows older than the retention are deleted, unpublished ones never")
    func retention() async throws {
        let database = try await MySQLTestDatabase.create()
        try await database.execute("CREATE TABLE items (id INT PRIMARY KEY)")
        try await MySQLChangeLogInstaller.install(
            tables: [BridgeConfiguration.Table(table: "items", entity: "item")], configuration: database.configuration)
        try await database.execute("INSERT INTO items VALUES (1), (2), (3), (4)")
        let source = MySQLChangeSource(configuration: database.configuration, transportName: "retention")
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        let batch = try await session.readBatch(limit: 2, mode: .next)
        #expect(batch.count == 2)
        try await session.markPublished(batch.map(\.position), checkpoint: batch.last?.position)
        try await database.execute(
            "UPDATE \(MySQLChangeLogSchema.changeLog) SET captured_at = CURRENT_TIMESTAMP(6) - INTERVAL 10 DAY")
        #expect(try await session.purgePublished(olderThan: .seconds(3 * 86_400), limit: 1_000) == 2)
        #expect(try await session.purgePublished(olderThan: .seconds(3 * 86_400), limit: 1_000) == 0)
        await session.close()
        #expect(try await database.scalar("SELECT COUNT(*) FROM \(MySQLChangeLogSchema.changeLog)") == "2")
        #expect(
            try await database.scalar(
                "SELECT COUNT(*) FROM \(MySQLChangeLogSchema.changeLog) WHERE published_at IS NULL") == "2")
    }

    @Test("binlog mode on a server without a row binlog: install exits 2 saying which setting to change")
    func binlogSettingsChecked() async throws {
        let (server, port) = try await MariaDBClientTests().plainServer()
        try await server.start(waitForPort: port)
        defer { server.stop() }
        let admin = try await MariaDBConnection.connect(
            try MariaDBConfiguration(url: "mysql://root@127.0.0.1:\(port)/mysql"))
        try await admin.query("CREATE DATABASE app")
        try await admin.query("CREATE TABLE app.orders (id INT PRIMARY KEY)")
        await admin.close()
        let config = """
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            [mysql]
            url = "mysql://root@127.0.0.1:\(port)/app"
            [bridge]
            transport_name = "no-binlog"
            capture = "binlog"
            [[bridge.tables]]
            table = "orders"
            entity = "order"
            """
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, errors) = try await Binaries.run("mysql-bridge", ["install", "--config", path])
        #expect(status == 2, "\(errors)")
        #expect(errors.contains("the binlog is off") && errors.contains("binlog_row_metadata"), "\(errors)")
    }
}
