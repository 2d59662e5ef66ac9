import BridgeEngine
import BridgeEngineTesting
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime
import Synchronization
import Testing

/// The PostgreSQL adapter's harness for the bridge conformance suite: a database of its own per
/// check, with `items` captured as entity `item` by the installed triggers; applications' writes
/// are plain INSERTs; the set-aside changes are read from the bridge's dead-letter table.
final class PostgresHarness: ConformanceHarness {
    let databases = Mutex<[ObjectIdentifier: TestDatabase]>([:])

    func database(_ source: PostgresChangeSource) throws -> TestDatabase {
        try #require(databases.withLock { $0[ObjectIdentifier(source)] })
    }

    func makeSource(transport: String) async throws -> PostgresChangeSource {
        let database = try await TestDatabase.create()
        try await database.execute("CREATE TABLE items (id text PRIMARY KEY, pad text)")
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.items", entity: "item")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let source = PostgresChangeSource(configuration: database.configuration, transportName: transport)
        databases.withLock { $0[ObjectIdentifier(source)] = database }
        return source
    }

    func values(_ keys: [String], padding: Int) -> String {
        keys.map { "('\($0)', repeat('x', \(padding)))" }.joined(separator: ", ")
    }

    func commit(_ source: PostgresChangeSource, keys: [String], padding: Int) async throws {
        try await database(source).execute("INSERT INTO items (id, pad) VALUES \(values(keys, padding: padding))")
    }

    func begin(_ source: PostgresChangeSource, keys: [String]) async throws -> LateCommit {
        let connection = try await database(source).connect()
        let logger = Logger(label: "tests")
        try await connection.query("BEGIN", logger: logger)
        try await connection.query(
            PostgresQuery(unsafeSQL: "INSERT INTO items (id, pad) VALUES \(values(keys, padding: 0))"), logger: logger)
        return LateCommit {
            try await connection.query("COMMIT", logger: logger)
            try await connection.close()
        }
    }

    func setAsideKeys(_ source: PostgresChangeSource, transport: String) async throws -> [String] {
        let text = try await database(source).text(
            """
            SELECT COALESCE(string_agg(event->>'entity_id', ',' ORDER BY change_id), '')
              FROM fraiseql_observer.bridge_dead_letters WHERE transport = '\(transport)'
            """)
        return text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }

    /// pg-bridge owns retention: it never deletes an unpublished row.
    func expireAll(_ source: PostgresChangeSource) async throws -> Bool { false }
}

@Suite("bridge conformance: the PostgreSQL adapter", .serialized)
struct PostgresConformanceTests {
    static let suite = BridgeConformance(harness: PostgresHarness())

    @Test("conformance", arguments: suite.checks.map(\.name))
    func conformance(_ name: String) async throws {
        let check = try #require(Self.suite.checks.first { $0.name == name })
        try await check.run()
    }
}
