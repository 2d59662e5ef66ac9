/// Why an observer matched an event or not, and what its actions would send.
public struct ObserverExplanation: Sendable, Codable, Hashable {
    public var observer: String
    public var matched: Bool
    /// Why not, when it did not: the entity, the operation or the condition (empty when it matched).
    public var reason: String
    /// The condition's source (nil: none).
    public var condition: String?
    public var clauses: [ConditionClause]
    /// What would run (empty when it did not match).
    public var actions: [ActionExplanation]
}

/// An action that would run, and what it would send.
public struct ActionExplanation: Sendable, Codable, Hashable {
    /// `<observer>#<index>`.
    public var key: String
    public var kind: String
    public var endpoint: String
    public var preview: String
}
