import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// Metrics of job-worker (`fraiseql_job_*`).
struct JobMetrics: Sendable {
    let factory: any MetricsFactory

    func executed(_ kind: String) -> Counter {
        Counter(label: "fraiseql_job_executed_total", dimensions: [("kind", kind)], factory: factory)
    }
    func failed(_ kind: String, _ outcome: String) -> Counter {
        Counter(
            label: "fraiseql_job_failed_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
    }
    func retried(_ kind: String) -> Counter {
        Counter(label: "fraiseql_job_retried_total", dimensions: [("kind", kind)], factory: factory)
    }
    func reclaimed(_ queue: String) -> Counter {
        Counter(label: "fraiseql_job_reclaimed_total", dimensions: [("queue", queue)], factory: factory)
    }
    func duration(_ kind: String) -> Timer {
        Timer(
            label: "fraiseql_job_duration_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds,
            factory: factory)
    }
    func gauge(_ name: String, _ queue: String) -> Gauge {
        Gauge(label: "fraiseql_job_\(name)", dimensions: [("queue", queue)], factory: factory)
    }
    let running: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        running = Gauge(label: "fraiseql_job_running", factory: factory)
    }
}
