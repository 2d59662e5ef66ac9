import ObserverWorker

/// What a replay did (or, dry, would do): per event, the observers that match and the actions
/// that run.
public struct ReplayReport: Sendable, Codable, Hashable {
    public var replayId: String
    public var dryRun: Bool
    /// Events read from the stream in the range (before the entity, operation and cursor filters).
    public var scanned: Int
    public var events: [Item]
    /// Events published again (0 in a dry run).
    public var published: Int
    /// True when `limit` cut the range short.
    public var truncated: Bool

    public struct Item: Sendable, Codable, Hashable {
        /// The event's id in the stream, and the id of its replayed copy.
        public var eventId: String
        public var replayedId: String
        public var streamSequence: UInt64
        public var entity: String
        public var operation: String
        public var cursor: Int64
        public var observers: [String]
        public var actions: [String]

        enum CodingKeys: String, CodingKey {
            case entity, operation, cursor, observers, actions
            case eventId = "event_id"
            case replayedId = "replayed_id"
            case streamSequence = "stream_sequence"
        }
    }

    enum CodingKeys: String, CodingKey {
        case scanned, events, published, truncated
        case replayId = "replay_id"
        case dryRun = "dry_run"
    }
}
