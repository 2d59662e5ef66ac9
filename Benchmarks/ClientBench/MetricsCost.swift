import CoreMetrics
import FleetCore
import Foundation
import Metrics
import Prometheus
import Runtime

/// `fraiseql-bench metrics-cost EVENTS`: the CPU time observer-worker's metrics add per event,
/// measured alone (a drain with metrics on and off differs by less than this machine's noise).
///
/// Per event it makes the metric calls of a noop drain's event (Pipeline.swift: `processed`,
/// the action's `executed` counter and `duration` timer); per 128 events (one fetched batch) the
/// dedup-check timer and the lag and in-flight gauges. Once with the Prometheus factory and the
/// services' buckets, once with the no-op factory the worker uses when metrics are off;
/// alternated five times, the fastest of each kept. Prints "<on ns/event> <off ns/event>".
enum MetricsCost {
    struct Handles {
        let processed: CoreMetrics.Counter
        let executed: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
        let dedupCheck: CoreMetrics.Timer
        let lag: CoreMetrics.Gauge
        let inFlight: CoreMetrics.Gauge

        init(_ factory: any MetricsFactory) {
            processed = CoreMetrics.Counter(label: "fraiseql_observer_events_processed_total", factory: factory)
            executed = CoreMetrics.Counter(
                label: "fraiseql_observer_actions_executed_total", dimensions: [("kind", "log")], factory: factory)
            duration = CoreMetrics.Timer(
                label: "fraiseql_observer_action_duration_seconds", dimensions: [("kind", "log")],
                preferredDisplayUnit: .seconds, factory: factory)
            dedupCheck = CoreMetrics.Timer(
                label: "fraiseql_observer_dedup_check_seconds", preferredDisplayUnit: .seconds, factory: factory)
            lag = CoreMetrics.Gauge(label: "fraiseql_observer_lag_seconds", factory: factory)
            inFlight = CoreMetrics.Gauge(label: "fraiseql_observer_in_flight", factory: factory)
        }
    }

    /// Nanoseconds per event.
    static func run(_ handles: Handles, events: Int) -> Double {
        let clock = ContinuousClock()
        let started = clock.now
        for event in 0..<events {
            if event % 128 == 0 {
                handles.dedupCheck.record(Duration.microseconds(400 + event % 700))
                handles.lag.record(Double(event % 1000) / 1000)
                handles.inFlight.record(event % 256)
            }
            handles.duration.record(Duration.nanoseconds(2_000 + event % 50_000))
            handles.executed.increment()
            handles.processed.increment()
        }
        let elapsed = clock.now - started
        return (Double(elapsed.components.seconds) * 1e18 + Double(elapsed.components.attoseconds)) / 1e9
            / Double(events)
    }

    static func main(events: Int) {
        var prometheus = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
        prometheus.defaultDurationHistogramBuckets = ServiceMain.durationBuckets
        let on = Handles(prometheus)
        let off = Handles(NOOPMetricsHandler.instance)
        var best = (on: Double.infinity, off: Double.infinity)
        for _ in 0..<5 {
            best.on = min(best.on, run(on, events: events))
            best.off = min(best.off, run(off, events: events))
        }
        print(String(format: "%.1f %.1f", best.on, best.off))
    }
}
