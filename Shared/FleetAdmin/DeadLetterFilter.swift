import Contracts

/// Which letters a retry-all takes: each given criterion must match (none given: all).
public struct DeadLetterFilter: Sendable, Hashable {
    public var reason: DeadLetter.Reason?
    /// The entity type: the second-to-last part of an observer letter's subject (`<prefix>.<entity>.<op>`).
    public var entity: String?
    /// The observer or job kind that failed.
    public var handler: String?

    public init(reason: DeadLetter.Reason? = nil, entity: String? = nil, handler: String? = nil) {
        self.reason = reason
        self.entity = entity
        self.handler = handler
    }

    func matches(_ letter: DeadLetter) -> Bool {
        if let reason, letter.reason != reason { return false }
        if let handler, letter.handler != handler { return false }
        if let entity {
            let parts = letter.origin.split(separator: ".")
            guard parts.count >= 2, parts[parts.count - 2] == entity else { return false }
        }
        return true
    }
}
