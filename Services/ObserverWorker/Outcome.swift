import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// What to do with a message after processing.
enum Outcome: Equatable, Sendable {
    case ack
    case nak(delay: Duration?)
    case term
}
