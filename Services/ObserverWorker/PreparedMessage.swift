import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// A message after decoding and matching, before any I/O.
struct PreparedMessage: Sendable {
    enum Work: Sendable {
        case undecodable(ContractsError)
        /// Settled without decoding: too large, or delivered past `delivery_limit`.
        case refused(DeadLetter.Reason, String)
        /// No observer matched; `occurredAt` still counts for the lag gauge.
        case unmatched(occurredAt: Timestamp)
        case actions(EntityEvent, [any ObserverAction])
    }
    let payload: [UInt8]
    let origin: String
    /// This delivery's number, 1-based; in `finish`, less the deliveries released at shutdown
    /// (`MarkState.released`): the attempts, which `max_attempts` counts.
    var deliveries: Int
    /// Tells the transport the message is still being worked on (NATS: an in-progress ack, which
    /// restarts its ack_wait), while the pipeline keeps it for an in-process retry.
    var keepAlive: (@Sendable () -> Void)? = nil
    let work: Work

    var pendingCheck: MarkCheck? {
        guard case .actions(let event, let actions) = work else { return nil }
        return MarkCheck(
            id: event.id, occurredAt: event.occurredAt, actionKeys: actions.map(\.key), redelivered: deliveries > 1)
    }
}
