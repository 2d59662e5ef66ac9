import BridgeEngine
import BridgeEngineTesting
import Foundation
import MariaDB
import MySQLChangeLog
import Synchronization
import Testing

/// The MySQL / MariaDB adapter's harness for the bridge conformance suite (trigger mode): a
/// database of its own per check, `items` captured as entity `item` by the installed triggers;
/// applications' writes are plain INSERTs; set-aside changes are read from the bridge's
/// dead-letter table.
final class MySQLHarness: ConformanceHarness {
    let databases = Mutex<[ObjectIdentifier: MySQLTestDatabase]>([:])

    func database(_ source: MySQLChangeSource) throws -> MySQLTestDatabase {
        try #require(databases.withLock { $0[ObjectIdentifier(source)] })
    }

    func makeSource(transport: String) async throws -> MySQLChangeSource {
        let database = try await MySQLTestDatabase.create()
        try await database.execute("CREATE TABLE items (id VARCHAR(64) PRIMARY KEY, pad LONGTEXT)")
        try await MySQLChangeLogInstaller.install(
            tables: [BridgeConfiguration.Table(table: "items", entity: "item")], configuration: database.configuration)
        let source = MySQLChangeSource(configuration: database.configuration, transportName: transport)
        databases.withLock { $0[ObjectIdentifier(source)] = database }
        return source
    }

    func values(_ keys: [String], padding: Int) -> String {
        keys.map { "('\($0)', REPEAT('x', \(padding)))" }.joined(separator: ", ")
    }

    func commit(_ source: MySQLChangeSource, keys: [String], padding: Int) async throws {
        try await database(source).execute("INSERT INTO items (id, pad) VALUES \(values(keys, padding: padding))")
    }

    func begin(_ source: MySQLChangeSource, keys: [String]) async throws -> LateCommit {
        let connection = try await database(source).connect()
        try await connection.query("START TRANSACTION")
        try await connection.query("INSERT INTO items (id, pad) VALUES \(values(keys, padding: 0))")
        return LateCommit {
            try await connection.query("COMMIT")
            await connection.close()
        }
    }

    func setAsideKeys(_ source: MySQLChangeSource, transport: String) async throws -> [String] {
        let text =
            try await database(source).scalar(
                """
                SELECT COALESCE(GROUP_CONCAT(JSON_VALUE(event, '$.entity_id') ORDER BY CAST(change_id AS UNSIGNED)), '')
                  FROM \(MySQLChangeLogSchema.deadLetters) WHERE transport = '\(transport)'
                """) ?? ""
        return text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }

    /// Trigger mode: the bridge owns retention, it never deletes an unpublished row.
    func expireAll(_ source: MySQLChangeSource) async throws -> Bool { false }
}

@Suite("bridge conformance: the MySQL adapter (trigger mode)", .serialized)
struct MySQLConformanceTests {
    static let suite = BridgeConformance(harness: MySQLHarness())

    @Test("conformance", arguments: suite.checks.map(\.name))
    func conformance(_ name: String) async throws {
        let check = try #require(Self.suite.checks.first { $0.name == name })
        try await check.run()
    }
}

/// The harness in binlog mode: the same database per check, no triggers; install records where
/// capture starts; the database's retention is `PURGE BINARY LOGS` (after a rotation, every file
/// before the new one is gone, the checkpoint's among them).
final class MySQLBinlogHarness: ConformanceHarness {
    let triggers = MySQLHarness()
    let databases = Mutex<[ObjectIdentifier: MySQLTestDatabase]>([:])

    func database(_ source: MySQLBinlogSource) throws -> MySQLTestDatabase {
        try #require(databases.withLock { $0[ObjectIdentifier(source)] })
    }

    func makeSource(transport: String) async throws -> MySQLBinlogSource {
        let database = try await MySQLTestDatabase.create()
        try await database.execute("CREATE TABLE items (id VARCHAR(64) PRIMARY KEY, pad LONGTEXT)")
        let tables = [BridgeConfiguration.Table(table: "items", entity: "item")]
        try await MySQLChangeLogInstaller.install(
            tables: tables, configuration: database.configuration, binlogTransport: transport)
        let source = MySQLBinlogSource(configuration: database.configuration, transportName: transport, tables: tables)
        databases.withLock { $0[ObjectIdentifier(source)] = database }
        return source
    }

    func commit(_ source: MySQLBinlogSource, keys: [String], padding: Int) async throws {
        try await database(source).execute(
            "INSERT INTO items (id, pad) VALUES \(triggers.values(keys, padding: padding))")
    }

    func begin(_ source: MySQLBinlogSource, keys: [String]) async throws -> LateCommit {
        let connection = try await database(source).connect()
        try await connection.query("START TRANSACTION")
        try await connection.query("INSERT INTO items (id, pad) VALUES \(triggers.values(keys, padding: 0))")
        return LateCommit {
            try await connection.query("COMMIT")
            await connection.close()
        }
    }

    func setAsideKeys(_ source: MySQLBinlogSource, transport: String) async throws -> [String] {
        let text =
            try await database(source).scalar(
                """
                SELECT COALESCE(GROUP_CONCAT(JSON_VALUE(event, '$.entity_id') ORDER BY created_at), '')
                  FROM \(MySQLChangeLogSchema.deadLetters) WHERE transport = '\(transport)'
                """) ?? ""
        return text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }

    func expireAll(_ source: MySQLBinlogSource) async throws -> Bool {
        let database = try database(source)
        try await database.execute("FLUSH BINARY LOGS")
        let current = try #require(try await currentBinlog(database))
        // MariaDB keeps a file until its binlog checkpoint (InnoDB flushed it): purge until gone.
        for _ in 0..<100 {
            try await database.execute("PURGE BINARY LOGS TO '\(current)'")
            let connection = try await database.connect()
            let files = try await connection.query("SHOW BINARY LOGS").rows.count
            await connection.close()
            if files == 1 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server kept binlog files older than \(current)")
        return true
    }

    func currentBinlog(_ database: MySQLTestDatabase) async throws -> String? {
        let connection = try await database.connect()
        let file = try await connection.query("SHOW MASTER STATUS").string(0, 0)
        await connection.close()
        return file
    }
}
