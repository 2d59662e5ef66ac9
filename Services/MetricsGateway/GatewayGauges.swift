import FleetAdmin
import Metrics

/// The fleet-wide gauges no single service owns, set from each refresh; a scrape reads what
/// the last refresh set (cheap whatever the fleet's size). Names: docs/monitoring/metrics.md.
struct GatewayGauges: Sendable {
    private let refreshDuration = Timer(label: "fraiseql_gateway_refresh_seconds")

    func update(_ snapshot: GatewaySnapshot) {
        let status = snapshot.status
        refreshDuration.recordSeconds(snapshot.refreshSeconds)
        for (part, up) in status.parts {
            Gauge(label: "fraiseql_gateway_part_up", dimensions: [("part", part)]).record(up ? 1 : 0)
        }
        if let stream = status.stream {
            let labels = [("stream", stream.name)]
            Gauge(label: "fraiseql_gateway_stream_messages", dimensions: labels).record(Double(stream.messages))
            Gauge(label: "fraiseql_gateway_stream_bytes", dimensions: labels).record(Double(stream.bytes))
            Gauge(label: "fraiseql_gateway_stream_max_bytes", dimensions: labels).record(Double(stream.maxBytes))
            Gauge(label: "fraiseql_gateway_stream_max_messages", dimensions: labels).record(Double(stream.maxMessages))
            Gauge(label: "fraiseql_gateway_stream_first_sequence", dimensions: labels).record(
                Double(stream.firstSequence))
            Gauge(label: "fraiseql_gateway_stream_last_sequence", dimensions: labels).record(
                Double(stream.lastSequence))
            for consumer in status.consumers {
                let labels = [("stream", stream.name), ("consumer", consumer.name)]
                Gauge(label: "fraiseql_gateway_consumer_pending", dimensions: labels).record(Double(consumer.pending))
                Gauge(label: "fraiseql_gateway_consumer_ack_pending", dimensions: labels).record(
                    Double(consumer.ackPending))
                Gauge(label: "fraiseql_gateway_consumer_redelivered", dimensions: labels).record(
                    Double(consumer.redelivered))
                Gauge(label: "fraiseql_gateway_consumer_oldest_unacked_seconds", dimensions: labels).record(
                    consumer.oldestUnackedSeconds ?? 0)
            }
        }
        if let letters = status.observerDeadLetters {
            Gauge(label: "fraiseql_gateway_observer_dead_letters").record(Double(letters))
        }
        for queue in status.jobQueues {
            for (state, value) in [
                ("queued", queue.queued), ("running", queue.running), ("delayed", queue.delayed),
                ("dead", queue.dead),
            ] {
                Gauge(label: "fraiseql_gateway_job_queue", dimensions: [("queue", queue.name), ("state", state)])
                    .record(Double(value))
            }
        }
        for circuit in status.circuits {
            Gauge(label: "fraiseql_gateway_circuit_open", dimensions: [("endpoint", circuit.endpoint)]).record(
                circuit.open ? 1 : 0)
        }
        if let bridge = status.bridge {
            Gauge(label: "fraiseql_gateway_bridge_unpublished_rows").record(Double(bridge.unpublishedRows))
            Gauge(label: "fraiseql_gateway_bridge_oldest_unpublished_seconds").record(bridge.oldestUnpublishedSeconds)
            Gauge(label: "fraiseql_gateway_bridge_dead_letters").record(Double(bridge.deadLetters ?? 0))
        }
    }
}
