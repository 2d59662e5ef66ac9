import BridgeEngine
import Config
import Contracts
import Delivery
import Foundation
import JobQueue
import NATS
import Redis
import Runtime

/// The whole `fraiseql.toml`: every service reads the full file, so an unknown key is an error
/// wherever it is, and `fraiseql-observer validate` checks exactly what the services will load.
/// Each key is documented where it is read; `docs/configuration.md` is the reference.
public struct FleetConfiguration: Sendable {
    public var log: LogConfiguration
    public var nats: NATSConfiguration
    public var redis: RedisConfiguration
    public var postgres: DatabaseConfiguration
    public var mysql: DatabaseConfiguration
    public var mssql: DatabaseConfiguration
    public var bridge: BridgeConfiguration
    public var observer: ObserverConfiguration
    public var observers: [ObserverDefinition]
    public var jobs: JobsConfiguration
    public var smtp: SMTPConfiguration
    public var search: SearchConfiguration
    public var flight: FlightConfiguration
    public var gateway: GatewayConfiguration
    public var metrics: MetricsConfiguration

    /// Defaults everywhere.
    public init() {
        // An empty reader cannot fail.
        self = try! FleetConfiguration(reader: ConfigFile(root: [:], environment: [:]))
    }

    public init(reader: ConfigFile) throws(ConfigError) {
        let root = reader.scope
        log = try LogConfiguration(root.section("log"))
        nats = try NATSConfiguration(root.section("nats"))
        redis = try RedisConfiguration(root.section("redis"))
        postgres = try DatabaseConfiguration(root.section("postgres"))
        mysql = try DatabaseConfiguration(root.section("mysql"))
        mssql = try DatabaseConfiguration(root.section("mssql"))
        bridge = try BridgeConfiguration(root.section("bridge"))
        observer = try ObserverConfiguration(root.section("observer"))
        let observerDefaults = observer
        observers = try root.tables("observers").map { scope throws(ConfigError) in
            try ObserverDefinition(scope, defaults: observerDefaults)
        }
        jobs = try JobsConfiguration(root.section("jobs"))
        smtp = try SMTPConfiguration(root.section("smtp"))
        search = try SearchConfiguration(root.section("search"))
        flight = try FlightConfiguration(root.section("flight"))
        gateway = try GatewayConfiguration(root.section("gateway"))
        metrics = try MetricsConfiguration(root.section("metrics"))
        try reader.checkUnknownKeys()
    }

    /// Loads `path` with environment overrides.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> FleetConfiguration
    {
        try FleetConfiguration(reader: ConfigFile(path: path, environment: environment))
    }
}
