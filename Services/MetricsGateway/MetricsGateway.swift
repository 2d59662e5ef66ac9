/// metrics-gateway: the fleet-wide gauges no single service owns, the admin API and the status
/// page, all on its ops port next to `/metrics` and `/health/*`.
import FleetAdmin
import FleetCore
import NATS
import Redis
import Runtime

public enum MetricsGateway {
    public static func buildServices(_ context: ServiceContext) async throws -> ServiceSet {
        let configuration = context.configuration
        var set = ServiceSet()
        var redisClient: RedisClient?
        // The postgres transport's fleet may have no Redis: read it only when it is named.
        if configuration.observer.transport != "postgres" || configuration.redis.isConfigured {
            let (client, redis) = try FleetClients.redisServiceSet(context)
            redisClient = client
            set = set.merged(with: redis)
        }
        var jetStream: JetStream?
        if configuration.observer.transport != "postgres" {
            let (stream, nats) = try await FleetClients.natsServiceSet(context)
            jetStream = stream
            set = set.merged(with: nats)
        }
        let admin = try FleetAdmin(
            configuration: configuration, jetStream: jetStream, redis: redisClient,
            logger: context.logger)
        let refresher = GatewayRefresher(
            admin: admin, configuration: configuration.gateway, logger: context.logger)
        let api = AdminAPI(
            admin: admin, refresher: refresher, auth: GatewayAuth(configuration.gateway.tokens),
            logger: context.logger)
        let page =
            configuration.gateway.statusPage
            ? try StatusPage(refresher: refresher, refreshInterval: configuration.gateway.refreshInterval) : nil
        if configuration.gateway.tokens.isEmpty {
            context.logger.warning("no [gateway] token configured: the admin API refuses every call")
        }
        set.services.append(refresher)
        set.routes.append { router in
            api.add(to: router)
            page?.add(to: router)
        }
        return set
    }
}
