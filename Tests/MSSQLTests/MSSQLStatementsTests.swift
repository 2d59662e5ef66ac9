import BridgeEngine
import Foundation
import MSSQLChangeLog
import Testing

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
