/// What runs statements: a ``MariaDBConnection`` (a session of its own) or a ``MariaDBClient``
/// (short queries, reconnecting).
public protocol MariaDBQuerying: Sendable {
    @discardableResult
    func query(_ sql: String, _ parameters: [MariaDBValue]) async throws -> MariaDBResult
}

extension MariaDBQuerying {
    @discardableResult
    public func query(_ sql: String) async throws -> MariaDBResult {
        try await query(sql, [])
    }
}

extension MariaDBConnection: MariaDBQuerying {}
extension MariaDBClient: MariaDBQuerying {}
