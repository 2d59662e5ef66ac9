/// A fleet service's readiness, as its ops server's `/health/ready` answered the gateway.
struct ServiceHealth: Sendable, Codable, Hashable {
    var name: String
    var url: String
    var ready: Bool
    /// The answer's body (its checks), or why there was none.
    var detail: String
}
