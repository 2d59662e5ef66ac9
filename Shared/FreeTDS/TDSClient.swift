/// Short queries (lag, readiness) on one connection that is opened when first needed and opened
/// again after it was lost: a probe costs a query, not a login, and a server restart costs the
/// calls made while it is down, not the client.
///
/// An actor: concurrent callers share one login in progress (no second connection that would
/// replace the first under a running query), and no caller blocks a thread to look at the
/// connection (db-lib only finds a connection dead when a call on it fails).
public actor TDSClient {
    public nonisolated let configuration: TDSConfiguration
    private var connection: TDSConnection?
    private var connecting: Task<TDSConnection, any Error>?

    public init(configuration: TDSConfiguration) {
        self.configuration = configuration
    }

    /// Runs `sql` on the kept connection. A failure drops the connection (the next call logs in
    /// again); a lost connection is retried once at once on a new one, so the first probe after a
    /// server restart or an idle session's drop answers instead of failing.
    @discardableResult
    public func query(_ sql: String) async throws -> TDSResult {
        var attempt = 0
        while true {
            let current = try await open()
            do {
                return try await current.query(sql)
            } catch {
                if connection === current { connection = nil }
                await current.close()
                attempt += 1
                guard attempt < 2, let failure = error as? TDSError, failure.code == .closed else { throw error }
            }
        }
    }

    /// Whether the server answers `SELECT 1` (for `/health/ready`).
    public func isReachable() async -> Bool {
        (try? await query("SELECT 1")) != nil
    }

    public func close() async {
        let current = connection
        connection = nil
        await current?.close()
    }

    /// The kept connection, or a new one (one login at a time, shared by the callers waiting).
    private func open() async throws -> TDSConnection {
        if let connection { return connection }
        if let connecting { return try await connecting.value }
        let configuration = configuration
        let task = Task { try await TDSConnection.connect(configuration) }
        connecting = task
        do {
            let opened = try await task.value
            connecting = nil
            connection = opened
            return opened
        } catch {
            connecting = nil
            throw error
        }
    }
}
