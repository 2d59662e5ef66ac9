import ObserverWorker

/// `debug-event`'s answer: the event, and every observer's verdict on it.
public struct EventExplanation: Sendable, Codable, Hashable {
    public var eventId: String
    public var entity: String
    public var operation: String
    public var observers: [ObserverExplanation]

    enum CodingKeys: String, CodingKey {
        case entity, operation, observers
        case eventId = "event_id"
    }
}
