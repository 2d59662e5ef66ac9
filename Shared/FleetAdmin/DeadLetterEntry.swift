import Contracts

/// A dead letter where it is kept: its entry id there (a Redis stream id, or the letter's UUID
/// in the `postgres` transport's table) and the letter; `letter` is nil when the stored text is
/// not a dead letter (kept as `raw`).
public struct DeadLetterEntry: Sendable, Codable, Hashable {
    public var queue: String
    public var id: String
    public var letter: DeadLetter?
    public var raw: String?
}
