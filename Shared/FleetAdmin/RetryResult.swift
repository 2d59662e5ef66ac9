/// What a retry did with one letter.
public struct RetryResult: Sendable, Codable, Hashable {
    public enum Outcome: String, Sendable, Codable, Hashable {
        case retried, skipped, missing, failed
    }

    public var id: String
    public var outcome: Outcome
    public var detail: String

    public init(id: String, outcome: Outcome, detail: String = "") {
        self.id = id
        self.outcome = outcome
        self.detail = detail
    }
}
