/// flight-server: the events of the stream as Apache Arrow over Arrow Flight (docs/flight.md).
import Contracts
import FleetCore
import Runtime

public enum FlightServer {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        let (jetStream, nats) = try await FleetClients.natsServiceSet(context)
        let metrics = FlightMetrics()
        let access = try await FlightAccess(configuration.flight, metrics: metrics)
        if access.isOpenToNobody {
            context.logger.warning(
                "no flight token is configured (flight.token, [[flight.tokens]]): every call is refused")
        }
        let service = FlightService(
            configuration: configuration.flight, entities: configuration.bridge.tables.map(\.entity),
            reader: EventReader(
                jetStream: jetStream, stream: configuration.nats.stream.name,
                namer: try SubjectNamer(prefix: configuration.nats.subjectPrefix),
                flushInterval: configuration.flight.flushInterval, metrics: metrics, logger: context.logger),
            views: ViewReader(
                url: configuration.flight.viewsURL, schema: configuration.flight.viewSchema,
                allowedRelations: configuration.flight.allowedRelations, metrics: metrics, logger: context.logger),
            access: access,
            limiter: FlightLimiter(
                requestsPerSecond: configuration.flight.requestsPerSecond,
                concurrentStreams: configuration.flight.concurrentStreams),
            metrics: metrics, isNATSConnected: { jetStream.connection.isConnected }, logger: context.logger)
        let server = FlightGRPCServer(configuration: configuration.flight, service: service, logger: context.logger)
        return nats.merged(
            with: ServiceSet(services: [server], readiness: [ReadinessCheck("flight") { server.isListening }]))
    }
}
