import Hummingbird

/// Adds a service's own routes to its ops server's router (next to `/metrics` and `/health/*`).
public typealias OpsRoutes = @Sendable (Router<BasicRequestContext>) -> Void
