import Contracts
import Foundation
import Logging
import Redis

/// The marks to read for one event.
struct MarkCheck: Sendable {
    var id: UUID
    /// Where the event's marks are kept (see `RedisMarkStore`): the same for every delivery of it.
    var occurredAt: Timestamp
    var actionKeys: [String]
    /// Delivered before: its release count is read too (see `MarkWrite.released`).
    var redelivered = false
    /// Whether to read the event's processed mark (see `hasProcessedMark`): a check of a
    /// one-action event reads one field.
    var processed: Bool { Self.hasProcessedMark(actions: actionKeys.count) }

    /// Only events with more than one action have a processed mark: an event with one action is
    /// marked by its done mark alone. Written and read by this one rule.
    static func hasProcessedMark(actions: Int) -> Bool { actions > 1 }
}
