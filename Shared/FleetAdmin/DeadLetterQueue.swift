/// Which dead letters: the observer-worker's (a Redis stream, or the `postgres` transport's
/// table) or a job queue's. Written `observer` or `jobs:<queue>` in the API and the CLI.
public enum DeadLetterQueue: Sendable, Hashable, CustomStringConvertible {
    case observer
    case jobs(String)

    public init?(_ text: String) {
        if text == "observer" {
            self = .observer
        } else if text.hasPrefix("jobs:"), text.count > 5 {
            self = .jobs(String(text.dropFirst(5)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .observer: "observer"
        case .jobs(let queue): "jobs:\(queue)"
        }
    }
}
