import BridgeEngine
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
        let connection = try await LeaderLock.acquire(
            standbyInterval: standbyInterval, logger: logger,
            connect: { try await MariaDBConnection.connect(configuration) },
            tryLock: { try await MySQLChangeLogStore(connection: $0).tryLeaderLock(transport: transport) },
            close: { await $0.close() })
        do {
            return try await session(connection)
        } catch {
            await connection.close()
            throw error
        }
    }
}
