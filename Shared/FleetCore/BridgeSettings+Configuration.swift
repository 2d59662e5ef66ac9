import BridgeEngine
import Contracts

extension BridgeSettings {
    /// The settings every bridge executable runs with: `[bridge]` and the stream's subject prefix
    /// from the file; a publish may take twice NATS's request timeout.
    public init(_ configuration: FleetConfiguration) throws {
        let bridge = configuration.bridge
        self.init(
            transportName: bridge.transportName,
            subjectNamer: try SubjectNamer(prefix: configuration.nats.subjectPrefix),
            batchSize: bridge.batchSize, pollInterval: bridge.pollInterval,
            publishTimeout: configuration.nats.requestTimeout * 2, retention: bridge.retention,
            oversized: OversizedPolicy(rawValue: bridge.oversized) ?? .deadLetter)
    }
}
