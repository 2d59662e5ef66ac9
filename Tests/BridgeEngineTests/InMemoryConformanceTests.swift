import BridgeEngine
import BridgeEngineTesting
import Contracts
import Logging
import Metrics
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// The conformance suite against the reference in-memory source, and the engine's behaviour
/// around crashes and shutdown; no server.
@Suite("bridge engine with an in-memory source")
struct InMemoryConformanceTests {
    static let suite = BridgeConformance(harness: InMemoryHarness())

    @Test("conformance", arguments: suite.checks.map(\.name))
    func conformance(_ name: String) async throws {
        let check = try #require(Self.suite.checks.first { $0.name == name })
        try await check.run()
    }

    func bridge(_ source: InMemoryChangeSource, _ publisher: RecordingPublisher, batchSize: Int)
        throws -> BridgeService<InMemoryChangeSource>
    {
        BridgeService(
            source: source, publisher: publisher,
            configuration: BridgeSettings(
                transportName: "memory", subjectNamer: try SubjectNamer(prefix: "unit"), batchSize: batchSize,
                pollInterval: .milliseconds(10), resyncCheckInterval: .milliseconds(20)),
            logger: Logger(label: "unit"), metricsFactory: NOOPMetricsHandler.instance)
    }

    func published(_ publisher: RecordingPublisher) throws -> [String] {
        try publisher.stored.map { try EntityEvent.decode($0.payload).entityId }
    }

    func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try condition()
    }

    @Test("a crash between publish and mark republishes; the duplicate window drops the copies; nothing is lost")
    func crashBetweenPublishAndMark() async throws {
        let source = InMemoryChangeSource()
        let keys = (1...30).map { "k\($0)" }
        for key in keys { source.commit([.init(key: key)]) }
        source.crash(afterMarks: 1)
        let publisher = RecordingPublisher()
        let bridge = try bridge(source, publisher, batchSize: 10)
        let task = Task { try await bridge.run() }
        let done = try await eventually { try published(publisher).count == 30 && source.checkpoint?.version == 30 }
        task.cancel()
        _ = await task.result
        #expect(done)
        #expect(try published(publisher) == keys, "each change stored once, in order")
        #expect(publisher.duplicates > 0, "the batch whose mark was lost was published again")
    }

    @Test("the checkpoint only ever moves to a transaction's end, also when batches split transactions")
    func checkpointAtTransactionEnds() async throws {
        let source = InMemoryChangeSource()
        source.commit((1...25).map { .init(key: "a\($0)") })
        source.commit((1...7).map { .init(key: "b\($0)") })
        source.crash(afterMarks: 2)
        let publisher = RecordingPublisher()
        publisher.failNextBatch(after: 4)
        let bridge = try bridge(source, publisher, batchSize: 10)
        let task = Task { try await bridge.run() }
        let done = try await eventually { source.checkpoint == .init(version: 2, index: 6) }
        task.cancel()
        _ = await task.result
        #expect(done)
        let history = source.checkpointHistory
        #expect(!history.isEmpty)
        #expect(history.allSatisfy { $0.endsTransaction }, "\(history)")
        #expect(try published(publisher).count == 32)
    }

    @Test("graceful shutdown marks the batch in hand before leadership is released")
    func gracefulShutdown() async throws {
        let source = InMemoryChangeSource()
        for index in 1...50 { source.commit([.init(key: "g\(index)")]) }
        let publisher = RecordingPublisher()
        let bridge = try bridge(source, publisher, batchSize: 5)
        try await testGracefulShutdown { trigger in
            let task = Task { try await bridge.run() }
            _ = try await eventually { publisher.stored.count >= 10 }
            trigger.triggerGracefulShutdown()
            try await task.value
        }
        let stored = publisher.stored.count
        #expect(stored >= 10)
        #expect(!source.hasLeader, "leadership released")
        #expect(source.checkpoint?.version == Int64(stored), "every published change was marked: \(stored)")
    }

    @Test("retention past the checkpoint: not ready, nothing skipped")
    func resyncReported() async throws {
        let source = InMemoryChangeSource()
        source.commit([.init(key: "lost")])
        source.expireAll()
        source.commit([.init(key: "after")])
        let publisher = RecordingPublisher()
        let bridge = try bridge(source, publisher, batchSize: 5)
        let task = Task { try await bridge.run() }
        defer { task.cancel() }
        #expect(try await eventually { bridge.resyncRequired != nil })
        #expect(await bridge.readiness.check() == false)
        #expect(publisher.stored.isEmpty)
        task.cancel()
        _ = await task.result
    }

    @Test("a replica that becomes a standby stops reporting the resync it found as leader")
    func standbyClearsResync() async throws {
        let source = InMemoryChangeSource()
        source.commit([.init(key: "lost")])
        source.expireAll()
        source.commit([.init(key: "after")])
        let bridge = try bridge(source, RecordingPublisher(), batchSize: 5)
        let task = Task { try await bridge.run() }
        defer { task.cancel() }
        #expect(try await eventually { bridge.resyncRequired != nil })
        // Another replica takes the leadership between this one's checks.
        var other: InMemoryChangeSession?
        for _ in 0..<200 where other == nil {
            if !source.hasLeader { other = try await source.becomeLeader(logger: Logger(label: "other")) }
            try await Task.sleep(for: .milliseconds(5))
        }
        let leader = try #require(other)
        #expect(try await eventually { bridge.resyncRequired == nil }, "cleared once it waits as a standby")
        #expect(await bridge.readiness.check())
        await leader.close()
        task.cancel()
        _ = await task.result
    }
}
