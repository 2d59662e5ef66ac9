import BridgeEngine
import Contracts
import Logging
import Metrics

/// The checks every bridge adapter must pass (PostgreSQL now; MySQL and SQL Server when they
/// land), each on a fresh source, driving the real ``BridgeService`` with a
/// ``RecordingPublisher``. What they hold an adapter to: every committed change is published, in
/// its transaction's order; a transaction that commits late is not skipped; the same change read
/// again has the same event id; a resumed bridge starts after what it marked; changes that
/// cannot be published are set aside and the rest flows on; a failed publish is retried; and
/// when the database's retention passed the checkpoint, the bridge stops and says so.
public struct BridgeConformance<Harness: ConformanceHarness>: Sendable {
    public let harness: Harness
    /// How long a check waits for the bridge.
    public var timeout: Duration = .seconds(30)
    /// Whether the source keeps the order of the changes inside a transaction. SQL Server's
    /// Change Tracking does not (a transaction's rows share one version, with no order among
    /// them): for it the checks hold transactions in order and each transaction's changes
    /// together, in any order among themselves.
    public var orderWithinTransaction = true

    public init(harness: Harness) {
        self.harness = harness
    }

    /// A check that did not hold.
    public struct Failure: Error, CustomStringConvertible {
        public var check: String
        public var detail: String
        public var description: String { "\(check): \(detail)" }
    }

    /// The checks by name (each returns normally when it holds).
    public var checks: [(name: String, run: @Sendable () async throws -> Void)] {
        [
            ("every change published in transaction order", everyChangePublishedInOrder),
            ("a late commit is not skipped", lateCommitNotSkipped),
            ("a change read again has the same event id", stableEventIDs),
            ("a resumed bridge starts after what it marked", resumesAfterMarks),
            ("an unpublishable change is set aside, the rest flows", oversizedSetAside),
            ("a failed publish is retried", failedPublishRetried),
            ("retention past the checkpoint stops the bridge and says so", resyncRequired),
        ]
    }

    /// Runs every check; throws the first failure.
    public func runAll() async throws {
        for check in checks { try await check.run() }
    }

    // MARK: The checks

    @Sendable func everyChangePublishedInOrder() async throws {
        let name = "every change published in transaction order"
        let source = try await harness.makeSource(transport: unique("order"))
        let transactions = [keys("a", 1), keys("b", 5), keys("c", 250)]
        for transaction in transactions { try await harness.commit(source, keys: transaction, padding: 0) }
        let publisher = RecordingPublisher()
        try await withBridge(source, publisher: publisher, batchSize: 100) {
            try await waitFor(name, publisher, keys: transactions.flatMap { $0 })
        }
        let published = try entityIDs(publisher)
        try expect(name, Set(published) == Set(transactions.flatMap { $0 }), "published \(published.count) changes")
        try expect(name, published.count == Set(published).count, "a change was stored twice")
        for transaction in transactions {
            let order = published.filter(Set(transaction).contains)
            if orderWithinTransaction {
                try expect(name, order == transaction, "transaction \(transaction.first ?? "") out of order: \(order)")
            } else {
                try expect(name, Set(order) == Set(transaction), "transaction \(transaction.first ?? ""): \(order)")
            }
        }
        // Transactions in commit order: every change of one before every change of the next.
        let index = Dictionary(published.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for (earlier, later) in zip(transactions, transactions.dropFirst()) {
            let lastOfEarlier = earlier.compactMap { index[$0] }.max() ?? -1
            let firstOfLater = later.compactMap { index[$0] }.min() ?? Int.max
            try expect(
                name, lastOfEarlier < firstOfLater, "transaction \(later.first ?? "") overtook \(earlier.first ?? "")")
        }
    }

    @Sendable func lateCommitNotSkipped() async throws {
        let name = "a late commit is not skipped"
        let source = try await harness.makeSource(transport: unique("late"))
        let late = try await harness.begin(source, keys: ["late-1", "late-2"])
        let early = keys("early", 20)
        try await harness.commit(source, keys: early, padding: 0)
        let publisher = RecordingPublisher()
        try await withBridge(source, publisher: publisher, batchSize: 5) {
            try await waitFor(name, publisher, keys: early)
            try await late.commit()
            try await waitFor(name, publisher, keys: early + ["late-1", "late-2"])
        }
        let published = try entityIDs(publisher)
        try expect(name, published.filter { $0.hasPrefix("late") } == ["late-1", "late-2"], "late rows: \(published)")
    }

    @Sendable func stableEventIDs() async throws {
        let name = "a change read again has the same event id"
        let source = try await harness.makeSource(transport: unique("stable"))
        try await harness.commit(source, keys: keys("s", 10), padding: 0)
        let logger = Logger(label: "conformance")
        // Read, then die before marking: the next leader reads the same changes.
        let first = try await source.becomeLeader(logger: logger)
        let before = try await first.readBatch(limit: 10, mode: .next)
        await first.close()
        let second = try await source.becomeLeader(logger: logger)
        let after = try await second.readBatch(limit: 10, mode: .next)
        await second.close()
        try expect(name, before.count == 10, "read \(before.count) of 10 changes")
        try expect(
            name, before.map(\.eventID) == after.map(\.eventID),
            "event ids changed between reads: \(before.map(\.eventID)) vs \(after.map(\.eventID))")
        try expect(name, Set(before.map(\.eventID)).count == 10, "two changes share an event id")
        for record in before {
            let event = try EntityEvent.decode(record.payload)
            try expect(name, event.id.lowercasedString == record.eventID, "the payload's id is not the record's")
        }
    }

    @Sendable func resumesAfterMarks() async throws {
        let name = "a resumed bridge starts after what it marked"
        let source = try await harness.makeSource(transport: unique("resume"))
        let old = keys("old", 30)
        try await harness.commit(source, keys: old, padding: 0)
        let first = RecordingPublisher()
        try await withBridge(source, publisher: first, batchSize: 10) {
            try await waitFor(name, first, keys: old)
            try await waitForNoLag(name, source)
        }
        let new = keys("new", 7)
        try await harness.commit(source, keys: new, padding: 0)
        let second = RecordingPublisher()
        try await withBridge(source, publisher: second, batchSize: 10) {
            try await waitFor(name, second, keys: new)
            try await waitForNoLag(name, source)
        }
        let republished = try entityIDs(second).filter { $0.hasPrefix("old") }
        try expect(name, republished.isEmpty, "published again after being marked: \(republished)")
    }

    @Sendable func oversizedSetAside() async throws {
        let name = "an unpublishable change is set aside, the rest flows"
        let transport = unique("aside")
        let source = try await harness.makeSource(transport: transport)
        try await harness.commit(source, keys: ["small-1"], padding: 0)
        try await harness.commit(source, keys: ["huge-1"], padding: 20_000)
        try await harness.commit(source, keys: ["small-2"], padding: 0)
        let publisher = RecordingPublisher(maxPayload: 8_000)
        try await withBridge(source, publisher: publisher, batchSize: 10) {
            try await waitFor(name, publisher, keys: ["small-1", "small-2"])
            try await waitForNoLag(name, source)
        }
        let published = try entityIDs(publisher)
        try expect(name, !published.contains("huge-1"), "the oversized change was published")
        let aside = try await harness.setAsideKeys(source, transport: transport)
        try expect(name, aside == ["huge-1"], "set aside: \(aside)")
    }

    @Sendable func failedPublishRetried() async throws {
        let name = "a failed publish is retried"
        let source = try await harness.makeSource(transport: unique("retry"))
        let all = keys("r", 12)
        try await harness.commit(source, keys: all, padding: 0)
        let publisher = RecordingPublisher()
        publisher.failNextBatch(after: 3)
        try await withBridge(source, publisher: publisher, batchSize: 12) {
            try await waitFor(name, publisher, keys: all)
        }
        let published = try entityIDs(publisher)
        try expect(
            name, orderWithinTransaction ? published == all : published.sorted() == all.sorted(),
            "published \(published)")
        try expect(name, publisher.attempts > all.count, "the failure was not scripted into a publish")
    }

    @Sendable func resyncRequired() async throws {
        let name = "retention past the checkpoint stops the bridge and says so"
        let source = try await harness.makeSource(transport: unique("resync"))
        try await harness.commit(source, keys: keys("gone", 5), padding: 0)
        guard try await harness.expireAll(source) else { return }  // the bridge owns retention
        try await harness.commit(source, keys: ["after"], padding: 0)
        let publisher = RecordingPublisher()
        let reported = try await withBridge(source, publisher: publisher, batchSize: 10) { bridge in
            try await eventually { bridge.resyncRequired != nil }
        }
        try expect(name, reported, "the bridge did not report that a resync is required")
        let published = try entityIDs(publisher)
        try expect(name, published.isEmpty, "published past the gap: \(published)")
    }

    // MARK: Helpers

    func keys(_ prefix: String, _ count: Int) -> [String] { (1...count).map { "\(prefix)-\($0)" } }

    func unique(_ name: String) -> String { "conf-\(name)-\(UInt32.random(in: 0...UInt32.max))" }

    func expect(_ check: String, _ condition: Bool, _ detail: @autoclosure () -> String) throws {
        if !condition { throw Failure(check: check, detail: detail()) }
    }

    /// The entity ids of the stored events, in order.
    func entityIDs(_ publisher: RecordingPublisher) throws -> [String] {
        try publisher.stored.map { try EntityEvent.decode($0.payload).entityId }
    }

    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    func waitFor(_ check: String, _ publisher: RecordingPublisher, keys: [String]) async throws {
        let wanted = Set(keys)
        let done = try await eventually { wanted.isSubset(of: Set(try entityIDs(publisher))) }
        let missing = wanted.subtracting(try entityIDs(publisher))
        try expect(check, done, "not published within \(timeout): \(missing.sorted())")
    }

    func waitForNoLag(_ check: String, _ source: Harness.Source) async throws {
        let done = try await eventually { try await source.lag().rows == 0 }
        let left = try await source.lag().rows
        try expect(check, done, "changes left unmarked: \(left)")
    }

    /// Runs a bridge over `source` while `body` runs, then stops it.
    @discardableResult
    func withBridge<T: Sendable>(
        _ source: Harness.Source, publisher: RecordingPublisher, batchSize: Int,
        _ body: (BridgeService<Harness.Source>) async throws -> T
    ) async throws -> T {
        let transport = unique("bridge")
        let bridge = BridgeService(
            source: source, publisher: publisher,
            configuration: BridgeSettings(
                transportName: transport, subjectNamer: try SubjectNamer(prefix: "conformance"),
                batchSize: batchSize, pollInterval: .milliseconds(20), publishTimeout: .seconds(2),
                resyncCheckInterval: .milliseconds(50)),
            logger: Logger(label: "conformance"), metricsFactory: NOOPMetricsHandler.instance)
        let task = Task { try await bridge.run() }
        defer { task.cancel() }
        let result = try await body(bridge)
        task.cancel()
        _ = await task.result
        return result
    }

    @discardableResult
    func withBridge<T: Sendable>(
        _ source: Harness.Source, publisher: RecordingPublisher, batchSize: Int, _ body: () async throws -> T
    ) async throws -> T {
        try await withBridge(source, publisher: publisher, batchSize: batchSize) { _ in try await body() }
    }
}
