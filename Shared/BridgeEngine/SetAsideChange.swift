import Contracts

/// A change the bridge cannot publish, and why.
public struct SetAsideChange<Position: SourcePosition>: Sendable {
    public var record: ChangeRecord<Position>
    public var reason: String

    public init(record: ChangeRecord<Position>, reason: String) {
        self.record = record
        self.reason = reason
    }
}
