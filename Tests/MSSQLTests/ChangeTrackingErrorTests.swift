import BridgeEngine
import BridgeEngineTesting
import Contracts
import FreeTDS
import Logging
import MSSQLChangeLog
import Prometheus
import Testing

/// The error paths a user watches, through the bridge engine on a simulated Change Tracking
/// database: each a clear error (the log, `resyncRequired`) and a count in
/// `fraiseql_bridge_errors_total{kind}` as Prometheus exposes it.
@Suite("mssql-bridge error paths: a clear error and a metric each")
struct ChangeTrackingErrorTests {
    /// Runs a bridge over `source` while `body` runs, its metrics in `registry`.
    func withBridge(
        _ source: ChangeTrackingSource<SimulatedChangeTracking>, transport: String,
        registry: PrometheusCollectorRegistry,
        _ body: (BridgeService<ChangeTrackingSource<SimulatedChangeTracking>>) async throws -> Void
    ) async throws {
        let bridge = BridgeService(
            source: source, publisher: RecordingPublisher(),
            configuration: BridgeSettings(
                transportName: transport, subjectNamer: try SubjectNamer(prefix: "tests"), batchSize: 100,
                pollInterval: .milliseconds(20), publishTimeout: .seconds(2), resyncCheckInterval: .milliseconds(50)),
            logger: Logger(label: "tests"), metricsFactory: PrometheusMetricsFactory(registry: registry))
        let task = Task { try await bridge.run() }
        defer { task.cancel() }
        try await body(bridge)
        task.cancel()
        _ = await task.result
    }

    func count(_ registry: PrometheusCollectorRegistry, kind: String) -> Int? {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first {
            $0.hasPrefix("fraiseql_bridge_errors_total{") && $0.contains("kind=\"\(kind)\"")
        }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
    }

    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<250 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test("Change Tracking off: counted as change_tracking_disabled until it is on again, then events flow")
    func disabled() async throws {
        let harness = ChangeTrackingHarness()
        let source = try await harness.makeSource(transport: "ct-off-metric")
        let database = try harness.database(source)
        database.state.withLock { $0.enabled = false }
        let registry = PrometheusCollectorRegistry()
        try await withBridge(source, transport: "ct-off-metric", registry: registry) { bridge in
            let counted = try await eventually { (count(registry, kind: "change_tracking_disabled") ?? 0) >= 2 }
            #expect(counted)
            #expect(bridge.resyncRequired == nil, "Change Tracking off is not a resync")
        }
    }

    @Test("the checkpoint older than retention: resync required (gauge, readiness) and counted as resync_required")
    func retention() async throws {
        let harness = ChangeTrackingHarness()
        let source = try await harness.makeSource(transport: "ct-retention-metric")
        let database = try harness.database(source)
        database.commit([("a", ["id": .string("a")])])
        database.expireAll()
        let registry = PrometheusCollectorRegistry()
        try await withBridge(source, transport: "ct-retention-metric", registry: registry) { bridge in
            let counted = try await eventually { (count(registry, kind: "resync_required") ?? 0) >= 1 }
            #expect(counted)
            #expect(bridge.resyncRequired?.contains("CHANGE_TRACKING_MIN_VALID_VERSION") == true)
            #expect(await bridge.readiness.check() == false)
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            #expect(
                String(decoding: buffer, as: UTF8.self).contains(
                    "fraiseql_bridge_resync_required{transport=\"ct-retention-metric\"} 1"))
        }
    }

    @Test("connect failures are told apart: a refused login is login_refused, anything else unreachable")
    func kinds() {
        #expect(TDSError(.connect, "Login failed for user 'sa'.", number: 18456).bridgeErrorKind == "login_refused")
        #expect(TDSError(.connect, "Unable to connect", number: 20009).bridgeErrorKind == "unreachable")
        #expect(TDSError(.closed, "the connection is closed").bridgeErrorKind == "connection_lost")
        #expect(MSSQLError(.changeTrackingDisabled, "off").bridgeErrorKind == "change_tracking_disabled")
    }
}
