import Config
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The ops HTTP server: `/metrics` (Prometheus text format), `/health/live` (503 when a liveness
/// check fails) and `/health/ready` (200 only when every readiness check passes; the body lists
/// each; answered from a probe at most `readinessMaxAge` old).
public struct OpsServer: Service {
    let application: Application<RouterResponder<BasicRequestContext>>

    /// - Parameter onListening: receives the bound port (useful with port 0).
    public init(
        address: ListenAddress, serviceName: String, registry: PrometheusCollectorRegistry?,
        readiness: [ReadinessCheck], liveness: [ReadinessCheck] = [], readinessMaxAge: Duration = .seconds(1),
        routes: [OpsRoutes] = [], logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let router = Router()
        router.get("/health/live") { _, _ in
            var failed: [String] = []
            for check in liveness where await !check.check() { failed.append(check.name) }
            let body =
                failed.isEmpty
                ? #"{"status":"live","service":"\#(serviceName)"}"#
                : #"{"status":"dead","service":"\#(serviceName)","failed":["\#(failed.joined(separator: "\",\""))"]}"#
            return Response(
                status: failed.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        // Readiness checks reach servers (a PostgreSQL connection per check): every request within
        // a second shares one probe, so a probe storm cannot exhaust the database's connections.
        let probe = SharedProbe(readiness, maxAge: readinessMaxAge)
        router.get("/health/ready") { _, _ in
            let results = await probe.results()
            let ready = results.allSatisfy(\.1)
            let checks = results.map { #""\#($0.0)":\#($0.1 ? "true" : "false")"# }.joined(separator: ",")
            let body =
                #"{"status":"\#(ready ? "ready" : "not_ready")","service":"\#(serviceName)","checks":{\#(checks)}}"#
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            registry?.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        for add in routes { add(router) }
        self.application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: serviceName),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? address.port) },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }
}
