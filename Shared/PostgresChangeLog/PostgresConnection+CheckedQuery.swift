import Logging
import PostgresNIO

public typealias PostgresConnectionConfiguration = PostgresConnection.Configuration

extension PostgresConnection {
    /// `query`, failing at once when the connection is already closed, and closing the connection
    /// (which fails the query) when no answer has come within `timeout`. PostgresNIO never
    /// completes a query written to a connection that PostgreSQL closed while it sat idle (a
    /// restart with `pg_ctl stop -m fast`): the caller would wait forever, as the bridge did in
    /// the postgres-restart end-to-end scenario; the check covers a connection closed before the
    /// query, the timeout one closed while it is being sent. Every long-lived connection of the
    /// fleet queries through this; `timeout: nil` (install's DDL) waits as long as it takes.
    @discardableResult
    public func checkedQuery(
        _ query: PostgresQuery, logger: Logger, timeout: Duration? = .seconds(60), file: String = #fileID,
        line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !isClosed else {
            throw ChangeLogError(
                .connectionClosed, "the PostgreSQL connection is closed (server restarted or connection lost)")
        }
        guard let timeout else { return try await self.query(query, logger: logger, file: file, line: line) }
        let watchdog = Task { [self] in
            try await Task.sleep(for: timeout)
            logger.warning(
                "no answer from PostgreSQL, closing the connection", metadata: ["postgres.timeout": "\(timeout)"])
            try? await close()
        }
        defer { watchdog.cancel() }
        return try await self.query(query, logger: logger, file: file, line: line)
    }
}
