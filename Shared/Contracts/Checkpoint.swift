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
