import Metrics

/// flight-server's metrics (docs/operations.md): streams open, rows and bytes sent, calls by
/// method and status, authentication failures, stream messages that were not events.
struct FlightMetrics: Sendable {
    private let streamsOpen = Meter(label: "fraiseql_flight_streams_open")
    private let rows = Counter(label: "fraiseql_flight_rows_sent_total")
    private let bytes = Counter(label: "fraiseql_flight_bytes_sent_total")
    private let skippedMessages = Counter(label: "fraiseql_flight_skipped_messages_total")

    init() {
        streamsOpen.set(0)
    }

    func streamOpened() { streamsOpen.increment() }
    func streamClosed() { streamsOpen.decrement() }
    func rowsSent(_ count: Int) { rows.increment(by: count) }
    func bytesSent(_ count: Int) { bytes.increment(by: count) }
    func skipped() { skippedMessages.increment() }

    /// One finished call: `status` is the gRPC status code's name (`ok`, `unauthenticated` …).
    func call(_ method: String, status: String) {
        Counter(label: "fraiseql_flight_calls_total", dimensions: [("method", method), ("status", status)]).increment()
    }

    func authenticationFailed(_ reason: String) {
        Counter(label: "fraiseql_flight_auth_failures_total", dimensions: [("reason", reason)]).increment()
    }
}
