import Logging
import PostgresNIO
import Runtime

public typealias PostgresConnectionConfiguration = PostgresConnection.Configuration

extension PostgresConnection {
    /// `query`, failing at once when the connection is already closed, and giving up after
    /// `timeout` without an answer: the caller gets an error then and the connection is closed.
    /// PostgresNIO never completes a query written to a connection that PostgreSQL closed while it
    /// sat idle (a restart with `pg_ctl stop -m fast`), and closing the connection does not always
    /// fail it: the caller would wait forever, as the bridge did in the postgres-restart
    /// end-to-end scenario. So the wait is a race between the query and the timeout
    /// (``withTimeout(_:_:)``, which returns at the timeout even when the query never does).
    /// Every long-lived connection of the fleet queries through this; `timeout: nil` (install's
    /// DDL) waits as long as it takes.
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
        do {
            return try await withTimeout(timeout) { [self] in
                try await self.query(query, logger: logger, file: file, line: line)
            }
        } catch let error as TimeoutError {
            logger.warning(
                "no answer from PostgreSQL, closing the connection", metadata: ["postgres.timeout": "\(timeout)"])
            try? await close()
            throw ChangeLogError(
                .connectionClosed, "no answer from PostgreSQL within \(timeout): connection closed", underlying: error)
        }
    }
}
