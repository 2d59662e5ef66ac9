import BridgeEngine
import BridgeEngineTesting
import Contracts
import Foundation
import FreeTDS
import Logging
import MSSQLChangeLog
import Testing

/// Against a real SQL Server, when `MSSQL_URL` names one (`mssql://sa:PASSWORD@127.0.0.1:1433/master`;
/// docs/deployment.md says how to start one with Docker). No SQL Server runs on the machines that
/// build this project, so these tests do not run in its CI.
@Suite(
    "mssql-bridge against a real SQL Server", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["MSSQL_URL"] != nil, "MSSQL_URL is not set"))
struct MSSQLBridgeTests {
    func database() async throws -> TDSConfiguration {
        var configuration = try TDSConfiguration(url: try Stack.url("MSSQL_URL"))
        let admin = try await TDSConnection.connect(configuration)
        let name = Stack.unique("fx")
        try await admin.query("CREATE DATABASE \(TDSConnection.identifier(name))")
        await admin.close()
        configuration.database = name
        return configuration
    }

    @Test(
        "install, then inserts, updates and deletes of every column type arrive with the current row; deletes the key")
    func changeTracking() async throws {
        let configuration = try await database()
        let connection = try await TDSConnection.connect(configuration)
        try await connection.query(
            """
            CREATE TABLE dbo.kinds (
              id INT PRIMARY KEY, t TINYINT, s SMALLINT, b BIGINT, bt BIT, d DECIMAL(12,3), m MONEY, f FLOAT, r REAL,
              dt DATE, tm TIME(7), dtm DATETIME, dtm2 DATETIME2(7), dto DATETIMEOFFSET(7), u UNIQUEIDENTIFIER,
              c NCHAR(3), vc NVARCHAR(MAX), bn VARBINARY(10), x XML)
            """)
        let tables = [BridgeConfiguration.Table(table: "dbo.kinds", entity: "kind")]
        for statement in MSSQLStatements.install(tables: tables, retentionDays: 1, transport: "mssql-test") {
            try await connection.query(statement)
        }
        try await connection.query(
            """
            INSERT INTO dbo.kinds VALUES (1, 255, -32768, 9223372036854775807, 1, -12345.678, 12.5, -2.25e-10, 1.5,
              '2024-02-29', '03:04:05.1234567', '2024-01-02T03:04:05.123', '9999-12-31T23:59:59.9999999',
              '2024-01-02T03:04:05.5+02:00', '6F9619FF-8B86-D011-B42D-00C04FC964FF', N'ab', N'héllo ✓', 0x00FF10,
              '<a>1</a>');
            UPDATE dbo.kinds SET vc = N'changed' WHERE id = 1;
            INSERT INTO dbo.kinds (id) VALUES (2);
            DELETE FROM dbo.kinds WHERE id = 2;
            """)
        await connection.close()
        let source = ChangeTrackingSource(
            database: SQLServerChangeTracking(configuration: configuration, tables: tables),
            transportName: "mssql-test",
            tables: tables)
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        let batch = try await session.readBatch(limit: 100, mode: .next)
        await session.close()
        let events = try batch.map { try EntityEvent.decode($0.payload) }
        #expect(events.map(\.entityId) == ["1"], "row 2 was inserted and deleted since the checkpoint")
        let after = try #require(events.first?.after)
        #expect(after["vc"] == .string("changed"))
        #expect(after["bt"] == .bool(true))
        #expect(after["d"] == .double(-12345.678))
        #expect(after["dtm"] == .string("2024-01-02T03:04:05.123"))
        #expect(after["dto"] == .string("2024-01-02T03:04:05.5000000+02:00"))
        #expect(after["u"] == .string("6F9619FF-8B86-D011-B42D-00C04FC964FF"))
        #expect(after["bn"] == .string("\\x00ff10"))
    }

    @Test("bad credentials: a connect error naming the login, not the password")
    func badCredentials() async throws {
        var configuration = try TDSConfiguration(url: try Stack.url("MSSQL_URL"))
        configuration.password = "definitely-wrong-\(UUID().uuidString)"
        do {
            _ = try await TDSConnection.connect(configuration)
            Issue.record("logged in with a wrong password")
        } catch let error as TDSError {
            #expect(error.code == .connect)
            #expect(error.bridgeErrorKind == "login_refused", "\(error)")
            #expect(!error.description.contains(configuration.password))
        }
    }

    @Test("trigger mode: install, then a multi-row insert, an update and a delete arrive in order with both images")
    func triggerMode() async throws {
        let configuration = try await database()
        let connection = try await TDSConnection.connect(configuration)
        try await connection.query(
            "CREATE TABLE dbo.orders (id INT PRIMARY KEY, status NVARCHAR(20), secret NVARCHAR(20), tenant NVARCHAR(10))"
        )
        let tables = [
            BridgeConfiguration.Table(
                table: "dbo.orders", entity: "order", excludeColumns: ["secret"], tenantColumn: "tenant")
        ]
        for statement in MSSQLStatements.installTriggers(tables: tables) { try await connection.query(statement) }
        try await connection.query(
            """
            INSERT INTO dbo.orders VALUES (1, N'new', N's1', N't1'), (2, N'new', N's2', N't2');
            UPDATE dbo.orders SET status = N'paid' WHERE id = 1;
            DELETE FROM dbo.orders WHERE id = 2;
            """)
        await connection.close()
        let source = SQLServerChangeLogSource(configuration: configuration, transportName: "mssql-trigger-test")
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        let batch = try await session.readBatch(limit: 100, mode: .next)
        try await session.markPublished(batch.map(\.position), checkpoint: batch.last?.position)
        let again = try await session.readBatch(limit: 100, mode: .restart)
        await session.close()
        let events = try batch.map { try EntityEvent.decode($0.payload) }
        #expect(events.map(\.entityId) == ["1", "2", "1", "2"])
        #expect(events.map(\.operation) == [.insert, .insert, .update, .delete])
        #expect(events[2].before?["status"] == .string("new") && events[2].after?["status"] == .string("paid"))
        #expect(events[3].before?["id"] == .int(2) && events[3].after == nil)
        #expect(events.allSatisfy { $0.after?["secret"] == nil && $0.before?["secret"] == nil }, "excluded")
        #expect(events.map(\.tenantId) == ["t1", "t2", "t1", "t2"])
        #expect(again.isEmpty, "marked published")
    }
}
