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
        var announced = false
        while true {
            try Task.checkCancellation()
            let connection = try await TDSConnection.connect(configuration)
            do {
                while true {
                    try Task.checkCancellation()
                    let granted = try await connection.query(MSSQLStatements.leaderLock(transport: transport))
                    if case .int(let code)? = try? granted.json(0, 0), code >= 0 { return connection }
                    if !announced {
                        logger.info("another bridge is the leader, standing by")
                        announced = true
                    }
                    try await Task.sleep(for: standbyInterval)
                }
            } catch {
                await connection.close()
                throw error
            }
        }
    }
}
