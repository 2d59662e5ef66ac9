import FleetAdmin

/// A page of dead letters (`GET /api/v1/dead-letters/{queue}`).
struct DeadLetterPage: Codable, Sendable {
    var queue: String
    var entries: [DeadLetterEntry]
}
