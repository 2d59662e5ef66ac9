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

/// A fetched batch on its way to the pool, taken out once (see `NATSObserverConsumer.start`).
final class EventBatch: Sendable {
    typealias Event = (message: JetStreamMessage, prepared: PreparedMessage, state: MarkState?)
    private let events: Mutex<[Event]>

    init(_ events: [Event]) { self.events = Mutex(events) }

    func take() -> [Event] {
        events.withLock { events in
            var taken: [Event] = []
            swap(&taken, &events)
            return taken
        }
    }
}
