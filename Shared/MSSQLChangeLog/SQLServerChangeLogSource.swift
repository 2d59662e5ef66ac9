import BridgeEngine
import Contracts
import FreeTDS
import Logging

/// The bridge engine's SQL Server adapter in trigger mode: the change log filled by the triggers
/// `install` creates (`bridge.capture = "trigger"`); positions are change-log ids; event ids are
/// the UUIDs the triggers stored; the bridge owns retention; no notifications (the engine polls
/// every `poll_interval`).
public final class SQLServerChangeLogSource: ChangeSource {
    public typealias Position = Int64

    let configuration: TDSConfiguration
    let transportName: String
    let standbyInterval: Duration
    /// Lag and readiness queries: one kept connection, not a login per probe.
    let probes: TDSClient

    public init(configuration: TDSConfiguration, transportName: String, standbyInterval: Duration = .milliseconds(500))
    {
        self.configuration = configuration
        self.transportName = transportName
        self.standbyInterval = standbyInterval
        self.probes = TDSClient(configuration: configuration)
    }

    public func becomeLeader(logger: Logger) async throws -> ChangeLogSession<SQLServerChangeLogConnection> {
        let connection = try await MSSQLLeaderLock.lead(
            configuration, transport: transportName, standbyInterval: standbyInterval, logger: logger)
        do {
            try await connection.query(MSSQLStatements.changeLogSession)
            let session = SQLServerChangeLogConnection(connection: connection, transportName: transportName)
            return ChangeLogSession(
                connection: session, transportName: transportName, checkpoint: try await session.checkpoint(),
                logger: logger)
        } catch {
            await connection.close()
            throw error
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {}

    /// Unpublished committed rows and the age of the oldest.
    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        let result = try await probes.query(MSSQLStatements.backlog)
        guard !result.rows.isEmpty, case .int(let rows) = try result.json(0, 0),
            case .int(let oldest) = try result.json(0, 1)
        else { return (0, 0) }
        return (rows, Double(oldest) / 1_000_000)
    }

    public func isReachable() async -> Bool { await probes.isReachable() }
}
