import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// Per action, its metric handles, made once (a lookup per event costs more than the work).
struct ActionMetrics: Sendable {
    let executed: Counter
    let retryable: Counter
    let permanent: Counter
    let circuitOpen: Counter
    let givenUp: Counter
    let duration: Timer

    init(kind: String, metrics: ObserverMetrics) {
        executed = metrics.executed(kind)
        retryable = metrics.actionFailed(kind, "retryable")
        permanent = metrics.actionFailed(kind, "permanent")
        circuitOpen = metrics.actionFailed(kind, "circuit_open")
        givenUp = metrics.givenUp(kind)
        duration = metrics.duration(kind)
    }
}
