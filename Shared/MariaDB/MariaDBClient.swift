import Synchronization

/// Short queries (lag, drift, readiness) on one connection that is opened when first needed and
/// opened again after it was lost: a server restart costs the calls made while it is down, not
/// the client.
public final class MariaDBClient: Sendable {
    public let configuration: MariaDBConfiguration
    private let connection = Mutex<MariaDBConnection?>(nil)

    public init(configuration: MariaDBConfiguration) {
        self.configuration = configuration
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [MariaDBValue]) async throws -> MariaDBResult {
        let current: MariaDBConnection
        if let open = connection.withLock({ $0 }), open.isConnected {
            current = open
        } else {
            current = try await MariaDBConnection.connect(configuration)
            connection.withLock { $0 = current }
        }
        do {
            return try await current.query(sql, parameters)
        } catch let error as MariaDBError where error.connectionLost {
            connection.withLock { if $0 === current { $0 = nil } }
            throw error
        }
    }

    /// Whether the server answers a query.
    public func isReachable() async -> Bool {
        (try? await query("SELECT 1")) != nil
    }

    public func close() async {
        let current = connection.withLock { value -> MariaDBConnection? in
            defer { value = nil }
            return value
        }
        await current?.close()
    }
}
