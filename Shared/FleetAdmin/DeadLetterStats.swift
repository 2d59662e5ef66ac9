import Contracts

/// How many letters a queue holds, by reason and by handler, and the oldest and newest failure.
public struct DeadLetterStats: Sendable, Codable, Hashable {
    public var queue: String
    public var count: Int64
    public var byReason: [String: Int64]
    public var byHandler: [String: Int64]
    public var oldestFailedAt: Timestamp?
    public var newestFailedAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case queue
        case count
        case byReason = "by_reason"
        case byHandler = "by_handler"
        case oldestFailedAt = "oldest_failed_at"
        case newestFailedAt = "newest_failed_at"
    }
}
