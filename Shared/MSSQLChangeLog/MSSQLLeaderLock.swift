import BridgeEngine
import FreeTDS
import Logging

/// Leadership for a transport: `sp_getapplock` owned by the session, on a connection of the
/// leader's own. The server releases it when the process or the connection dies, and a standby
/// takes it within `standbyInterval`. Both mssql-bridge modes lead this way.
enum MSSQLLeaderLock {
    /// Waits until this replica holds the lock; returns the connection holding it.
    static func lead(
        _ configuration: TDSConfiguration, transport: String, standbyInterval: Duration, logger: Logger
    ) async throws -> TDSConnection {
        try await LeaderLock.acquire(
            standbyInterval: standbyInterval, logger: logger,
            connect: { try await TDSConnection.connect(configuration) },
            tryLock: { connection in
                let granted = try await connection.query(MSSQLStatements.leaderLock(transport: transport))
                if case .int(let code)? = try? granted.json(0, 0), code >= 0 { return true }
                return false
            }, close: { await $0.close() })
    }
}
