import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import NATS
import NIOPosix
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// Writes the marks of finished messages and then acks, NAKs or terminates them, a batch at a
/// time: what finishes while one round trip is under way goes in the next (group commit). Many
/// events then cost one Redis pipeline and one run of acks, instead of a round trip, a task
/// resumption and an ack each. A message's outcome is applied only after its marks were tried,
/// as before; the marks of an event wait for the round trip under way, if any (normally well
/// under a millisecond; with Redis unresponsive, up to its command timeout).
final class Settler: Sendable {
    private struct State {
        var queue: [(message: JetStreamMessage, settlement: Settlement)] = []
        var running = false
    }
    private let state = Mutex(State())
    private let marks: any MarkStore
    private let logger: Logger
    /// Called with the number of messages settled (their work slots are free again).
    private let settled: @Sendable (Int) -> Void

    init(marks: any MarkStore, logger: Logger, settled: @escaping @Sendable (Int) -> Void) {
        self.marks = marks
        self.logger = logger
        self.settled = settled
    }

    /// Nothing queued and no batch under way.
    var isIdle: Bool { state.withLock { !$0.running && $0.queue.isEmpty } }

    func submit(_ message: JetStreamMessage, _ settlement: Settlement) {
        let start = state.withLock { state in
            state.queue.append((message, settlement))
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { Task(executorPreference: globalConcurrentExecutor) { await self.run() } }
    }

    private func run() async {
        while true {
            let batch = state.withLock { state in
                var batch: [(message: JetStreamMessage, settlement: Settlement)] = []
                swap(&batch, &state.queue)
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let writes = batch.compactMap(\.settlement.marks)
            if !writes.isEmpty { await marks.mark(writes) }
            for (message, settlement) in batch {
                do {
                    switch settlement.outcome {
                    case .ack: try message.ack()
                    case .nak(let delay): try message.nak(delay: delay)
                    case .term: try message.term()
                    }
                } catch {
                    // The server redelivers after ack_wait; done marks keep the actions from repeating.
                    logger.warning("could not settle a message", metadata: ["error": "\(error)"])
                }
            }
            settled(batch.count)
        }
    }
}
