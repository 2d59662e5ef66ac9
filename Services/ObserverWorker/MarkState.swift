import Contracts
import Foundation
import Logging
import Redis

struct MarkState: Sendable, Equatable {
    var processed = false
    var done: Set<String> = []
    /// How many of the event's earlier deliveries a worker handed back unattempted or cut short
    /// at shutdown: they do not count toward `max_attempts`.
    var released = 0
}
