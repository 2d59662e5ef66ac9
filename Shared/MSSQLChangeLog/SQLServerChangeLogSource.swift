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

    public init(configuration: TDSConfiguration, transportName: String, standbyInterval: Duration = .milliseconds(500))
    {
        self.configuration = configuration
        self.transportName = transportName
        self.standbyInterval = standbyInterval
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
        let connection = try await TDSConnection.connect(configuration)
        let result: TDSResult
        do {
            result = try await connection.query(MSSQLStatements.backlog)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
        guard !result.rows.isEmpty, case .int(let rows) = try result.json(0, 0),
            case .int(let oldest) = try result.json(0, 1)
        else { return (0, 0) }
        return (rows, Double(oldest) / 1_000_000)
    }

    public func isReachable() async -> Bool { await TDSConnection.isReachable(configuration) }
}
