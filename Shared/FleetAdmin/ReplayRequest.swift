import Contracts

/// Which events a replay takes from the stream: an entity and operation (nil: all), and a range
/// by stream sequence, change-log cursor or capture time (each bound optional, inclusive from,
/// inclusive to), at most `limit` events.
public struct ReplayRequest: Sendable, Codable, Hashable {
    public var entity: String?
    public var operation: String?
    public var fromSequence: UInt64?
    public var toSequence: UInt64?
    public var fromCursor: Int64?
    public var toCursor: Int64?
    public var fromTime: Timestamp?
    public var toTime: Timestamp?
    public var limit: Int?
    /// List what would happen; publish nothing.
    public var dryRun: Bool?
    /// Names the replay: its events' ids derive from it, so the same replay run twice (a retry
    /// after a timeout) publishes each event once (the stream's duplicate window). Default: new.
    public var replayId: String?

    public init(
        entity: String? = nil, operation: String? = nil, fromSequence: UInt64? = nil, toSequence: UInt64? = nil,
        fromCursor: Int64? = nil, toCursor: Int64? = nil, fromTime: Timestamp? = nil, toTime: Timestamp? = nil,
        limit: Int? = nil, dryRun: Bool? = nil, replayId: String? = nil
    ) {
        self.entity = entity
        self.operation = operation
        self.fromSequence = fromSequence
        self.toSequence = toSequence
        self.fromCursor = fromCursor
        self.toCursor = toCursor
        self.fromTime = fromTime
        self.toTime = toTime
        self.limit = limit
        self.dryRun = dryRun
        self.replayId = replayId
    }

    /// The most events one replay takes.
    public static let maximumLimit = 100_000

    enum CodingKeys: String, CodingKey {
        case entity, operation, limit
        case fromSequence = "from_sequence"
        case toSequence = "to_sequence"
        case fromCursor = "from_cursor"
        case toCursor = "to_cursor"
        case fromTime = "from_time"
        case toTime = "to_time"
        case dryRun = "dry_run"
        case replayId = "replay_id"
    }
}
