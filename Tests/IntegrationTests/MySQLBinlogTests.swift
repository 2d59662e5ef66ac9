import BridgeEngine
import BridgeEngineTesting
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
