import Runtime
import ServiceLifecycle

/// How events reach the pipeline and how their outcomes are applied. `nats`
/// (``NATSObserverConsumer``): a JetStream pull consumer; outcomes become ack, NAK with a delay, or
/// term. `postgres` (``PostgresObserverTransport``): claims of change-log rows with `SKIP LOCKED`,
/// settled in the claim's transaction. Each runs as a `Service` and is ready when its source is.
protocol ObserverTransport: Service, Sendable {
    /// The pipeline its events go through.
    var pipeline: ObserverPipeline { get }
    /// `/health/ready`: whether events are being received.
    var readiness: ReadinessCheck { get }
}

extension ObserverTransport {
    /// The transport with the services it needs, its readiness, and the servers its pipeline's
    /// actions reach.
    func serviceSet(with services: [any Service] = [], links: [ServerLink] = []) -> ServiceSet {
        ServiceSet(services: services + [self], readiness: [readiness], links: links + pipeline.links)
    }
}
