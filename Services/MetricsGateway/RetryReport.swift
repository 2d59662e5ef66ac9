import FleetAdmin

/// What a retry call did with each letter.
struct RetryReport: Codable, Sendable { var results: [RetryResult] }
