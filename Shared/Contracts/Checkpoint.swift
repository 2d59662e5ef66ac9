/// How far a bridge has published from one source.
public struct Checkpoint: Codable, Hashable, Sendable {
    /// The bridge's transport name (`pg-main`).
    public var transport: String
    public var cursor: Int64
    public var updatedAt: Timestamp

    public init(transport: String, cursor: Int64, updatedAt: Timestamp = .now()) {
        self.transport = transport
        self.cursor = cursor
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case transport, cursor
        case updatedAt = "updated_at"
    }
}

/// Where bridges keep their checkpoints (PostgreSQL table `fraiseql_observer.checkpoints`, or Redis).
public protocol CheckpointStore: Sendable {
    /// The checkpoint of a transport, or `nil` when it never published.
    func load(transport: String) async throws -> Checkpoint?
    /// Unconditional write.
    func save(_ checkpoint: Checkpoint) async throws
    /// Writes `new` only if the stored cursor is `expected` (`nil`: no checkpoint yet).
    /// - Returns: whether the write happened; `false` means another writer moved the checkpoint.
    func compareAndSwap(expected: Int64?, new: Checkpoint) async throws -> Bool
}
