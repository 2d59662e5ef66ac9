import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// What `buildServices` returns: the long-running services in dependency order, and the
/// readiness and liveness checks the ops server reports.
public struct ServiceSet: Sendable {
    public var services: [any Service]
    public var readiness: [ReadinessCheck]
    /// Conditions the process cannot recover from by itself (a client that gave up for good):
    /// `/health/live` fails so the orchestrator restarts it.
    public var liveness: [ReadinessCheck]
    /// The servers the services reach, for the start-up TLS report.
    public var links: [ServerLink]
    /// Routes a service adds to its ops server (metrics-gateway: the admin API and status page).
    public var routes: [OpsRoutes]

    public init(
        services: [any Service] = [], readiness: [ReadinessCheck] = [], liveness: [ReadinessCheck] = [],
        links: [ServerLink] = [], routes: [OpsRoutes] = []
    ) {
        self.services = services
        self.readiness = readiness
        self.liveness = liveness
        self.links = links
        self.routes = routes
    }
}

extension ServiceSet {
    /// Services and checks of both, `self` first.
    public func merged(with other: ServiceSet) -> ServiceSet {
        ServiceSet(
            services: services + other.services, readiness: readiness + other.readiness,
            liveness: liveness + other.liveness, links: links + other.links, routes: routes + other.routes)
    }
}
