import Logging
import MariaDB

/// Leadership for a transport: `GET_LOCK('fraiseql_bridge:<transport>')` on a connection of the
/// leader's own. The server releases it when the process or the connection dies, and a standby
/// takes it within `standbyInterval`. Both mysql-bridge modes lead this way.
enum MySQLLeaderLock {
    /// Waits until this replica holds the lock, then hands the connection holding it to
    /// `session`, which builds the session on it (the connection is closed if that throws).
    static func lead<Session>(
        _ configuration: MariaDBConfiguration, transport: String, standbyInterval: Duration, logger: Logger,
        session: (MariaDBConnection) async throws -> Session
    ) async throws -> Session {
        var announcedStandby = false
        while true {
            try Task.checkCancellation()
            let connection = try await MariaDBConnection.connect(configuration)
            let store = MySQLChangeLogStore(connection: connection)
            do {
                while true {
                    try Task.checkCancellation()
                    if try await store.tryLeaderLock(transport: transport) {
                        return try await session(connection)
                    }
                    if !announcedStandby {
                        logger.info("another bridge is the leader, standing by")
                        announcedStandby = true
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
