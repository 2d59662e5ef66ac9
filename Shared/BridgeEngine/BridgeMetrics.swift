import Metrics

/// Metrics of a bridge (`fraiseql_bridge_*`), labelled with the transport.
struct BridgeMetrics: Sendable {
    let published: Counter
    let batches: Counter
    let rejected: Counter
    let publishFailures: Counter
    let purged: Counter
    let imagesOmitted: Counter
    let publishLatency: Timer
    let leader: Gauge
    let checkpoint: Gauge
    let lagRows: Gauge
    let lagSeconds: Gauge
    let drift: Gauge
    let resyncRequired: Gauge
    let transport: String
    let factory: any MetricsFactory

    init(transport: String, factory: any MetricsFactory) {
        let dimensions = [("transport", transport)]
        self.transport = transport
        self.factory = factory
        published = Counter(label: "fraiseql_bridge_events_published_total", dimensions: dimensions, factory: factory)
        batches = Counter(label: "fraiseql_bridge_batches_total", dimensions: dimensions, factory: factory)
        rejected = Counter(label: "fraiseql_bridge_events_rejected_total", dimensions: dimensions, factory: factory)
        publishFailures = Counter(
            label: "fraiseql_bridge_publish_failures_total", dimensions: dimensions, factory: factory)
        purged = Counter(label: "fraiseql_bridge_rows_purged_total", dimensions: dimensions, factory: factory)
        imagesOmitted = Counter(
            label: "fraiseql_bridge_images_omitted_total", dimensions: dimensions, factory: factory)
        publishLatency = Timer(
            label: "fraiseql_bridge_publish_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds,
            factory: factory)
        leader = Gauge(label: "fraiseql_bridge_leader", dimensions: dimensions, factory: factory)
        checkpoint = Gauge(label: "fraiseql_bridge_checkpoint_cursor", dimensions: dimensions, factory: factory)
        lagRows = Gauge(label: "fraiseql_bridge_lag_rows", dimensions: dimensions, factory: factory)
        lagSeconds = Gauge(label: "fraiseql_bridge_lag_oldest_seconds", dimensions: dimensions, factory: factory)
        drift = Gauge(label: "fraiseql_bridge_schema_drift", dimensions: dimensions, factory: factory)
        resyncRequired = Gauge(label: "fraiseql_bridge_resync_required", dimensions: dimensions, factory: factory)
    }

    /// Counts an error that interrupted the bridge, by kind (``BridgeErrorKind``; `other` when the error does not say).
    func error(_ error: any Error) {
        let kind = (error as? any BridgeErrorKind)?.bridgeErrorKind ?? "other"
        Counter(
            label: "fraiseql_bridge_errors_total", dimensions: [("transport", transport), ("kind", kind)],
            factory: factory
        ).increment()
    }
}
