import Logging

/// Leadership of a transport: a lock the database holds for one session (a PostgreSQL advisory
/// lock, MySQL's `GET_LOCK`, SQL Server's `sp_getapplock`), taken on a connection of the leader's
/// own, so that it dies with the process or the connection and a standby takes it. Every bridge
/// waits for it the same way.
public enum LeaderLock {
    /// Opens a connection and tries the lock every `standbyInterval` until it holds it (saying
    /// once that it stands by); returns the connection holding it. A failure closes the
    /// connection and throws (the engine retries with backoff).
    public static func acquire<Connection>(
        standbyInterval: Duration, logger: Logger, connect: () async throws -> Connection,
        tryLock: (Connection) async throws -> Bool, close: (Connection) async -> Void
    ) async throws -> Connection {
        var announced = false
        while true {
            try Task.checkCancellation()
            let connection = try await connect()
            do {
                while true {
                    try Task.checkCancellation()
                    if try await tryLock(connection) { return connection }
                    if !announced {
                        logger.info("another bridge is the leader, standing by")
                        announced = true
                    }
                    try await Task.sleep(for: standbyInterval)
                }
            } catch {
                await close(connection)
                throw error
            }
        }
    }
}
