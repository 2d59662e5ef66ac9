import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// A finished message: its outcome, and the marks to write before the outcome is applied. These
/// are left to the transport, which writes those of every message finished meanwhile in one round
/// trip (the NATS transport's `Settler`).
struct Settlement: Sendable {
    var outcome: Outcome
    var marks: MarkWrite? = nil

    static let ack = Settlement(outcome: .ack)
    static let term = Settlement(outcome: .term)
    static func nak(delay: Duration?) -> Settlement { Settlement(outcome: .nak(delay: delay)) }
    static func ack(marking marks: MarkWrite) -> Settlement { Settlement(outcome: .ack, marks: marks) }
}
