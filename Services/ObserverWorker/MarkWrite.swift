import Contracts
import Foundation
import Logging
import Redis

/// Marks to record for one event: its actions done, and whether the event is processed.
struct MarkWrite: Sendable {
    var eventID: UUID
    var occurredAt: Timestamp
    var done: [String]
    var processed: Bool
    /// The event goes back to the server at shutdown (NAK) without a real attempt: its release
    /// count goes up by one, so that the redelivery this causes is not counted as an attempt.
    var released = false

    init(_ event: EntityEvent, done: [String], processed: Bool, released: Bool = false) {
        eventID = event.id
        occurredAt = event.occurredAt
        self.done = done
        self.processed = processed
        self.released = released
    }
}
