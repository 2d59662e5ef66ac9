import BridgeEngine
import BridgeEngineTesting
import Contracts
import Testing

/// The engine's acked-prefix and checkpoint decision, driven without a server.
@Suite("BatchProgress: what a batch's publish lets the bridge mark")
struct BatchProgressTests {
    typealias Position = InMemoryChangeSource.Position
    typealias Progress = BatchProgress<Position>

    /// Changes of transactions with the given sizes, in order.
    func records(_ sizes: [Int]) -> [ChangeRecord<Position>] {
        var records: [ChangeRecord<Position>] = []
        for (transaction, size) in sizes.enumerated() {
            for index in 0..<size {
                let position = Position(version: Int64(transaction + 1), index: index)
                records.append(
                    ChangeRecord(
                        eventID: "\(position)", position: position, endsTransaction: index == size - 1,
                        cursor: position.version, source: "t", entityType: "item", operation: .insert, payload: []))
            }
        }
        return records
    }

    @Test("all published: complete, everything marked, checkpoint at the last change")
    func allPublished() {
        let batch = records([2, 3])
        let progress = Progress(records: batch, outcomes: Array(repeating: .published, count: 5))
        #expect(progress.complete)
        #expect(progress.marked == batch.map(\.position))
        #expect(progress.checkpoint == Position(version: 2, index: 2))
        #expect(progress.published == 5)
    }

    @Test("a failure stops the prefix: later acks are not marked; the checkpoint stays at the last whole transaction")
    func failureStopsPrefix() {
        let batch = records([2, 3])
        let progress = Progress(records: batch, outcomes: [.published, .published, .published, .failed, .published])
        #expect(!progress.complete)
        #expect(progress.marked == Array(batch.prefix(3).map(\.position)))
        #expect(progress.checkpoint == Position(version: 1, index: 1), "not inside transaction 2")
        #expect(progress.published == 3)
    }

    @Test("a batch ending inside a transaction marks its changes but keeps the checkpoint before it")
    func batchEndsInsideTransaction() {
        let batch = Array(records([4]).prefix(2))
        let progress = Progress(records: batch, outcomes: [.published, .published])
        #expect(progress.complete)
        #expect(progress.marked.count == 2)
        #expect(progress.checkpoint == nil)
    }

    @Test("set-aside changes count as done; a failure at the first change marks nothing")
    func setAsideAndFirstFailure() {
        let batch = records([1, 1, 1])
        let aside = Progress(records: batch, outcomes: [.setAside, .published, .failed])
        #expect(aside.marked == Array(batch.prefix(2).map(\.position)))
        #expect(aside.setAside == 1)
        #expect(aside.published == 1)
        #expect(aside.checkpoint == Position(version: 2, index: 0))
        let none = Progress(records: batch, outcomes: [.failed, .published, .published])
        #expect(none.marked.isEmpty)
        #expect(none.checkpoint == nil)
        #expect(none.published == 0)
    }

    @Test("positions out of order in the prefix (late rows first): the checkpoint is the highest")
    func highestPosition() {
        var batch = records([1, 1, 1])
        batch.swapAt(0, 2)
        let progress = Progress(records: batch, outcomes: [.published, .published, .published])
        #expect(progress.checkpoint == Position(version: 3, index: 0))
    }
}
