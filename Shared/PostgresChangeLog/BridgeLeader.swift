import Contracts

/// The PostgreSQL session that holds a bridge's leader lock.
public struct BridgeLeader: Sendable, Hashable, Codable {
    public var pid: Int
    public var clientAddress: String
    public var applicationName: String
    public var connectedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case pid
        case clientAddress = "client_address"
        case applicationName = "application_name"
        case connectedAt = "connected_at"
    }
}
