import Logging

/// What a service's `buildServices` receives.
public struct ServiceContext: Sendable {
    public var name: String
    public var configuration: FleetConfiguration
    public var logger: Logger

    public init(name: String, configuration: FleetConfiguration, logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.logger = logger
    }
}
