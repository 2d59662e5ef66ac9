import BridgeEngine
import Foundation
import Testing

@testable import MSSQLChangeLog

/// mssql-bridge's T-SQL against golden files (`Tests/MSSQLTests/Golden/*.sql`): what `install`
/// runs and the Change Tracking read, for two tables (one in another schema, one name that needs
/// quoting). A change to the T-SQL shows in review as a change to these files; after an intended
/// change, `FRAISEQL_WRITE_GOLDEN=1 swift test --filter MSSQLStatementsTests` rewrites them.
@Suite("mssql-bridge T-SQL")
struct MSSQLStatementsTests {
    static let tables = [
        BridgeConfiguration.Table(table: "orders", entity: "order"),
        BridgeConfiguration.Table(table: "sales.line items", entity: "line-item", idColumn: "line]id"),
    ]

    func golden(_ name: String, _ actual: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
        if ProcessInfo.processInfo.environment["FRAISEQL_WRITE_GOLDEN"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("install: Change Tracking on the database and tables, snapshot isolation, checkpoint tables, start versions")
    func install() throws {
        let script =
            MSSQLStatements.install(tables: Self.tables, retentionDays: 3, transport: "mssql-main")
            .joined(separator: "\nGO\n") + "\n"
        #expect(script == (try golden("install.sql", script)))
    }

    @Test("the Change Tracking read: one snapshot, minimum valid versions, whole versions per table")
    func changes() throws {
        let script = MSSQLStatements.changes(tables: Self.tables, after: 41, limit: 500) + "\n"
        #expect(script == (try golden("changes.sql", script)))
    }

    @Test("leader lock, checkpoints and dead letters")
    func others() throws {
        let script =
            [
                MSSQLStatements.leaderLock(transport: "mssql-main"),
                MSSQLStatements.readCheckpoints(transport: "mssql-main"),
                MSSQLStatements.moveCheckpoints(transport: "mssql-main", tables: ["orders"], from: 41, to: 42),
                MSSQLStatements.moveCheckpoints(transport: "mssql-main", tables: ["orders"], from: nil, to: 7),
                MSSQLStatements.insertDeadLetter(
                    transport: "mssql-main", changeID: "42:orders:7", eventID: "e", entityType: "order",
                    reason: "it's too large", event: "{}"),
                MSSQLStatements.untracked(Self.tables),
            ].joined(separator: "\nGO\n") + "\n"
        #expect(script == (try golden("others.sql", script)))
    }
}

/// Trigger mode's T-SQL against golden files: the change log and triggers `install` creates, and
/// the session's reads and marks.
@Suite("mssql-bridge T-SQL, trigger mode")
struct MSSQLTriggerStatementsTests {
    static let tables =
        MSSQLStatementsTests.tables + [
            BridgeConfiguration.Table(
                table: "dbo.customers", entity: "customer", includeColumns: ["name", "email"],
                excludeColumns: ["email"], tenantColumn: "tenant"),
            BridgeConfiguration.Table(table: "accounts", entity: "account", excludeColumns: ["secret \"hash\""]),
        ]

    @Test("install: the change log, the checkpoint and dead-letter tables, one trigger per table")
    func install() throws {
        let script = MSSQLStatements.installTriggers(tables: Self.tables).joined(separator: "\nGO\n") + "\n"
        #expect(script == (try MSSQLStatementsTests().golden("triggers.sql", script)))
    }

    @Test("the session's reads, marks, dead letters, purge and backlog")
    func session() throws {
        let script =
            [
                MSSQLStatements.changeLogSession,
                MSSQLStatements.changeLogCheckpoint(transport: "mssql-main"),
                MSSQLStatements.pendingRows(after: 41, limit: 500),
                MSSQLStatements.pendingIDsIncludingOpen(after: 41, through: 90),
                MSSQLStatements.markPublished(
                    ids: [42, 43, 44, 47, 50, 49], transport: "mssql-main", current: 41, target: 50),
                MSSQLStatements.markPublished(ids: [42], transport: "mssql-main", current: nil, target: 42),
                MSSQLStatements.markPublished(ids: [42], transport: "mssql-main", current: 42, target: 42),
                MSSQLStatements.recordMalformed(
                    transport: "mssql-main", id: 42, eventID: "x", entityType: "order",
                    reason: "event_id 'x' is not a UUID",
                    row: "id=42"),
                MSSQLStatements.purgePublished(olderThanSeconds: 259_200, limit: 1000),
                MSSQLStatements.backlog,
            ].joined(separator: "\nGO\n") + "\n"
        #expect(script == (try MSSQLStatementsTests().golden("changelog.sql", script)))
    }

    @Test("marked ids are sent as ranges")
    func ranges() {
        #expect(
            MSSQLStatements.idRanges([5, 1, 2, 3, 9, 7, 8, 3]) == "id BETWEEN 1 AND 3 OR id = 5 OR id BETWEEN 7 AND 9")
        #expect(MSSQLStatements.idRanges([4]) == "id = 4")
    }

    @Test("trigger names: long table names are hashed to stay within 128 characters, distinct per table")
    func names() {
        let long = String(repeating: "t", count: 120)
        #expect(MSSQLStatements.triggerName(table: "orders") == "fraiseql_capture_orders")
        #expect(MSSQLStatements.triggerName(table: long).count <= 128)
        #expect(MSSQLStatements.triggerName(table: long) != MSSQLStatements.triggerName(table: long + "u"))
    }
}
