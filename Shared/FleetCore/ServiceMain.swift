import Config
import Foundation
import Logging
import Metrics
import Prometheus
import Runtime
import ServiceLifecycle

/// The entry point every executable calls: load the configuration (exit 2 when it is bad),
/// bootstrap logging and metrics once, build the services, run them in a `ServiceGroup` with
/// SIGTERM/SIGINT as graceful-shutdown signals, the ops server last so it stops first.
public enum ServiceMain {
    /// Exit code for a bad configuration.
    public static let configurationExitCode = ConfigError.exitCode

    /// The configuration path: `--config PATH`, else `FRAISEQL_CONFIG`, else `fraiseql.toml`.
    public static func configurationPath(arguments: [String] = CommandLine.arguments, environment: [String: String])
        -> String
    {
        if let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count { return arguments[index + 1] }
        if let argument = arguments.first(where: { $0.hasPrefix("--config=") }) {
            return String(argument.dropFirst("--config=".count))
        }
        return environment["FRAISEQL_CONFIG"] ?? "fraiseql.toml"
    }

    /// Loads the configuration from `--config`, `FRAISEQL_CONFIG` or `fraiseql.toml`; on an error,
    /// prints it naming the key and returns nil (the caller exits with ``configurationExitCode``).
    public static func loadConfiguration(name: String) -> FleetConfiguration? {
        let environment = ProcessInfo.processInfo.environment
        let path = configurationPath(environment: environment)
        do {
            return try FleetConfiguration.load(path: path, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("\(name): configuration error: \(error.description)\n".utf8))
            return nil
        }
    }

    /// The services' duration histogram buckets: from 100 µs (dedup checks, Redis round trips) to
    /// 10 s (slow webhooks).
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]

    /// Warns once per server reached without verified TLS on a non-loopback host, and sets
    /// `fraiseql_tls_unverified{server,host}` (1 for those, 0 for the others).
    static func reportTransportSecurity(_ links: [ServerLink], logger: Logger) {
        for link in Set(links).sorted(by: { ($0.server, $0.host) < ($1.server, $1.host) }) {
            Gauge(label: "fraiseql_tls_unverified", dimensions: [("server", link.server), ("host", link.host)])
                .record(link.isExposed ? 1 : 0)
            if link.isExposed {
                logger.warning(
                    "connection to a server on the network without a verified TLS certificate",
                    metadata: ["server": "\(link.server)", "host": "\(link.host)", "tls": "\(link.detail)"])
            }
        }
    }

    /// Runs the service until it stops; returns the process's exit code (0; 2 for a bad
    /// configuration; 1 when it failed). The executable's `main` exits with it.
    public static func run(
        name: String, build: @Sendable (ServiceContext) async throws -> ServiceSet
    ) async -> Int32 {
        guard let configuration = loadConfiguration(name: name) else { return configurationExitCode }
        LoggingBootstrap.bootstrap(configuration.log)
        var logger = Logger(label: "fraiseql.\(name)")
        logger[metadataKey: "service"] = "\(name)"
        let registry = PrometheusCollectorRegistry()
        if configuration.metrics.enabled {
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = durationBuckets
            MetricsSystem.bootstrap(factory)
        }
        do {
            let set = try await build(ServiceContext(name: name, configuration: configuration, logger: logger))
            reportTransportSecurity(set.links, logger: logger)
            let serviceLogger = logger
            let ops = OpsServer(
                address: configuration.metrics.address, serviceName: name,
                registry: configuration.metrics.enabled ? registry : nil,
                readiness: set.readiness, liveness: set.liveness, routes: set.routes, logger: logger,
                onListening: { port in serviceLogger.info("ops server listening", metadata: ["ops.port": "\(port)"]) })
            var groupConfiguration = ServiceGroupConfiguration(
                services: set.services.map { .init(service: $0) } + [.init(service: ops)],
                gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
            groupConfiguration.maximumGracefulShutdownDuration = ShutdownBudget.service
            let group = ServiceGroup(configuration: groupConfiguration)
            logger.info("service starting")
            try await group.run()
            logger.info("service stopped")
            return 0
        } catch let error as ConfigError {
            logger.critical("configuration error", metadata: ["error": "\(error.description)"])
            return configurationExitCode
        } catch {
            logger.critical("service failed", metadata: ["error": "\(error)"])
            return 1
        }
    }
}
