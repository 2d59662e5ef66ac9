import Synchronization

/// Short queries (lag, readiness) on one connection that is opened when first needed and opened
/// again after it was lost: a probe costs a query, not a login, and a server restart costs the
/// calls made while it is down, not the client.
public final class TDSClient: Sendable {
    public let configuration: TDSConfiguration
    private let connection = Mutex<TDSConnection?>(nil)

    public init(configuration: TDSConfiguration) {
        self.configuration = configuration
    }

    @discardableResult
    public func query(_ sql: String) async throws -> TDSResult {
        let current: TDSConnection
        if let open = connection.withLock({ $0 }), open.isConnected {
            current = open
        } else {
            current = try await TDSConnection.connect(configuration)
            let replaced = connection.withLock { value -> TDSConnection? in
                defer { value = current }
                return value
            }
            await replaced?.close()
        }
        do {
            return try await current.query(sql)
        } catch let error as TDSError where error.code == .closed {
            connection.withLock { if $0 === current { $0 = nil } }
            await current.close()
            throw error
        }
    }

    /// Whether the server answers `SELECT 1` (for `/health/ready`).
    public func isReachable() async -> Bool {
        (try? await query("SELECT 1")) != nil
    }

    public func close() async {
        let current = connection.withLock { value -> TDSConnection? in
            defer { value = nil }
            return value
        }
        await current?.close()
    }
}
