import Contracts
import FleetAdmin

/// What one refresh read: the fleet's status, the services' health, rates against the refresh
/// before, the latest dead letters. Scrapes, the status page and `GET /api/v1/status` read it.
struct GatewaySnapshot: Sendable, Codable {
    var status: FleetStatus
    var services: [ServiceHealth]
    /// Events stored in the stream per second since the refresh before (nil on the first).
    var streamEventsPerSecond: Double?
    /// Per consumer: messages acknowledged per second (its ack floor's progress).
    var consumerAcksPerSecond: [String: Double]
    var recentDeadLetters: [DeadLetterEntry]
    /// How long the refresh took.
    var refreshSeconds: Double

    enum CodingKeys: String, CodingKey {
        case status
        case services
        case streamEventsPerSecond = "stream_events_per_second"
        case consumerAcksPerSecond = "consumer_acks_per_second"
        case recentDeadLetters = "recent_dead_letters"
        case refreshSeconds = "refresh_seconds"
    }
}
