import Logging
import PostgresNIO

/// The triggers' wake-ups: `LISTEN` on ``ChangeLogSchema/notifyChannel`` on a connection of its
/// own (a session that matters), reconnecting after a failure. pg-bridge and the `postgres`
/// observer transport both wait on it, with their poll interval as the fallback.
public struct ChangeNotifications: Sendable {
    let configuration: PostgresConnection.Configuration

    public init(configuration: PostgresConnection.Configuration) {
        self.configuration = configuration
    }

    /// Calls `signal` on every notification, and once after each (re)connection (changes may
    /// have arrived while not listening); returns when cancelled.
    public func watch(logger: Logger, signal: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: 3, logger: logger)
                do {
                    try await connection.listen(on: ChangeLogSchema.notifyChannel) { notifications in
                        signal()
                        for try await _ in notifications { signal() }
                    }
                    try? await connection.close()
                } catch {
                    try? await connection.close()
                    throw error
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("change notifications interrupted", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
