import Logging

/// A database adapter: what pg-bridge, mysql-bridge and mssql-bridge each implement. Every
/// adapter must pass the conformance suite (`BridgeEngineTesting.BridgeConformance`).
public protocol ChangeSource: Sendable {
    associatedtype Position: SourcePosition
    associatedtype Session: ChangeSession where Session.Position == Position

    /// Waits until this replica is the leader for the transport, then returns its session.
    func becomeLeader(logger: Logger) async throws -> Session
    /// Calls `signal` whenever new changes may be there; returns when cancelled. A source
    /// without notifications returns at once (the engine polls every `poll_interval`).
    func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async
    /// Unpublished changes and the age of the oldest, for lag metrics.
    func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double)
    /// What no longer matches the configuration in the source (a captured column dropped or
    /// renamed after install), one line each; empty when all is well.
    func drift() async throws -> [String]
}

extension ChangeSource {
    public func drift() async throws -> [String] { [] }
}
