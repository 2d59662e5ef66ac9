import BridgeEngine
import BridgeEngineTesting
import Contracts
import Logging
import MSSQLChangeLog
import Synchronization
import Testing

/// The Change Tracking adapter's harness: a simulated Change Tracking database per check (no SQL
/// Server runs here), `items` captured as entity `item`; install records the current version
/// as where capture starts; retention is Change Tracking's cleanup.
final class ChangeTrackingHarness: ConformanceHarness {
    typealias Source = ChangeTrackingSource<SimulatedChangeTracking>
    let databases = Mutex<[ObjectIdentifier: SimulatedChangeTracking]>([:])
    static let table = "dbo.items"

    func database(_ source: Source) throws -> SimulatedChangeTracking {
        try #require(databases.withLock { $0[ObjectIdentifier(source)] })
    }

    func makeSource(transport: String) async throws -> Source {
        let database = SimulatedChangeTracking(table: Self.table)
        database.state.withLock { $0.checkpoints[transport] = [Self.table: $0.version] }
        let source = Source(
            database: database, transportName: transport,
            tables: [BridgeConfiguration.Table(table: Self.table, entity: "item")])
        databases.withLock { $0[ObjectIdentifier(source)] = database }
        return source
    }

    func rows(_ keys: [String], padding: Int) -> [(key: String, row: [String: JSONValue]?)] {
        keys.map { ($0, ["id": .string($0), "pad": .string(String(repeating: "x", count: padding))]) }
    }

    func commit(_ source: Source, keys: [String], padding: Int) async throws {
        try database(source).commit(rows(keys, padding: padding))
    }

    func begin(_ source: Source, keys: [String]) async throws -> LateCommit {
        let database = try database(source)
        let rows = rows(keys, padding: 0)
        // Change Tracking versions are taken at commit: an open transaction is simply not there yet.
        return LateCommit { database.commit(rows) }
    }

    func setAsideKeys(_ source: Source, transport: String) async throws -> [String] {
        try database(source).state.withLock { $0.deadLetters[transport] ?? [] }
    }

    func expireAll(_ source: Source) async throws -> Bool {
        try database(source).expireAll()
        return true
    }
}

@Suite("bridge conformance: the SQL Server Change Tracking adapter (simulated database)", .serialized)
struct ChangeTrackingConformanceTests {
    static let suite: BridgeConformance<ChangeTrackingHarness> = {
        var suite = BridgeConformance(harness: ChangeTrackingHarness())
        // A transaction's rows share one Change Tracking version, unordered among themselves.
        suite.orderWithinTransaction = false
        return suite
    }()

    @Test("conformance", arguments: suite.checks.map(\.name))
    func conformance(_ name: String) async throws {
        let check = try #require(Self.suite.checks.first { $0.name == name })
        try await check.run()
    }

    @Test("Change Tracking turned off: the read fails with an error naming it, nothing is published or skipped")
    func disabled() async throws {
        let harness = ChangeTrackingHarness()
        let source = try await harness.makeSource(transport: "ct-off")
        let database = try harness.database(source)
        database.commit([("a", ["id": .string("a")])])
        database.state.withLock { $0.enabled = false }
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        await #expect(throws: MSSQLError.self) { _ = try await session.readBatch(limit: 10, mode: .next) }
        database.state.withLock { $0.enabled = true }
        let batch = try await session.readBatch(limit: 10, mode: .next)
        #expect(batch.map { try? EntityEvent.decode($0.payload).entityId } == ["a"])
        await session.close()
    }

    @Test("versions: a transaction's rows end it only at its last row; net changes; deletes carry the key only")
    func versions() async throws {
        let harness = ChangeTrackingHarness()
        let source = try await harness.makeSource(transport: "ct-versions")
        let database = try harness.database(source)
        database.commit([("a", ["id": .string("a"), "n": .int(1)]), ("b", ["id": .string("b"), "n": .int(2)])])
        database.commit([("a", ["id": .string("a"), "n": .int(3)])])
        database.commit([("b", nil)])
        let session = try await source.becomeLeader(logger: Logger(label: "tests"))
        let batch = try await session.readBatch(limit: 100, mode: .next)
        let events = try batch.map { try EntityEvent.decode($0.payload) }
        // Net since install: a inserted (now n = 3, version 2), b inserted and deleted: gone.
        #expect(events.map(\.entityId) == ["a"])
        #expect(events.first?.operation == .insert && events.first?.after?["n"] == .int(3))
        #expect(batch.map(\.endsTransaction) == [true])
        try await session.markPublished(batch.map(\.position), checkpoint: batch.last?.position)
        database.commit([("c", ["id": .string("c")]), ("d", ["id": .string("d")])])
        database.commit([("a", nil)])
        let next = try await session.readBatch(limit: 100, mode: .next)
        let decoded = try next.map { try EntityEvent.decode($0.payload) }
        #expect(decoded.map(\.entityId) == ["c", "d", "a"])
        #expect(next.map(\.endsTransaction) == [false, true, true], "c and d are one transaction")
        #expect(decoded.last?.operation == .delete && decoded.last?.after == nil && decoded.last?.before == nil)
        #expect(Set(decoded.map(\.id)).count == 3)
        await session.close()
    }
}
