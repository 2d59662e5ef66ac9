import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// Metrics of observer-worker (`fraiseql_observer_*`).
struct ObserverMetrics: Sendable {
    let factory: any MetricsFactory
    let processed: Counter
    let failed: Counter
    let dedupHits: Counter
    let cacheHits: Counter
    let cacheMisses: Counter
    let redisErrors: Counter
    let inFlight: Gauge
    let lag: Gauge
    let dedupCheck: Timer
    let deadLetterSize: Gauge
    /// Age of the consumer's oldest unacknowledged event (JetStream drops events at `max_age`).
    let oldestUnprocessed: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        processed = Counter(label: "fraiseql_observer_events_processed_total", factory: factory)
        failed = Counter(label: "fraiseql_observer_events_failed_total", factory: factory)
        dedupHits = Counter(label: "fraiseql_observer_dedup_hits_total", factory: factory)
        cacheHits = Counter(label: "fraiseql_observer_cache_hits_total", factory: factory)
        cacheMisses = Counter(label: "fraiseql_observer_cache_misses_total", factory: factory)
        redisErrors = Counter(label: "fraiseql_observer_store_errors_total", factory: factory)
        inFlight = Gauge(label: "fraiseql_observer_in_flight", factory: factory)
        lag = Gauge(label: "fraiseql_observer_lag_seconds", factory: factory)
        dedupCheck = Timer(
            label: "fraiseql_observer_dedup_check_seconds", preferredDisplayUnit: .seconds, factory: factory)
        deadLetterSize = Gauge(label: "fraiseql_observer_dlq_size", factory: factory)
        oldestUnprocessed = Gauge(label: "fraiseql_observer_oldest_unprocessed_seconds", factory: factory)
    }

    func executed(_ kind: String) -> Counter {
        Counter(label: "fraiseql_observer_actions_executed_total", dimensions: [("kind", kind)], factory: factory)
    }
    func actionFailed(_ kind: String, _ failure: String) -> Counter {
        Counter(
            label: "fraiseql_observer_actions_failed_total", dimensions: [("kind", kind), ("class", failure)],
            factory: factory)
    }
    func givenUp(_ kind: String) -> Counter {
        Counter(label: "fraiseql_observer_actions_given_up_total", dimensions: [("kind", kind)], factory: factory)
    }
    func duration(_ kind: String) -> Timer {
        Timer(
            label: "fraiseql_observer_action_duration_seconds", dimensions: [("kind", kind)],
            preferredDisplayUnit: .seconds, factory: factory)
    }
    func deadLetters(_ reason: DeadLetter.Reason) -> Counter {
        Counter(
            label: "fraiseql_observer_dead_letters_total", dimensions: [("reason", reason.rawValue)], factory: factory)
    }
    func circuit(_ endpoint: String) -> Gauge {
        Gauge(label: "fraiseql_observer_circuit_state", dimensions: [("endpoint", endpoint)], factory: factory)
    }
}
