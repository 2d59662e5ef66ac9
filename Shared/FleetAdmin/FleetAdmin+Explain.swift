import Contracts
import ObserverWorker

extension FleetAdmin {
    /// Runs the configured observers' rule engine on `event`: per observer, whether it matches
    /// and why, per condition clause, and what each action would send.
    public func explain(_ event: EntityEvent) throws -> EventExplanation {
        let engine = try ruleEngine()
        return EventExplanation(
            eventId: event.id.lowercasedString, entity: event.entityType, operation: event.operation.rawValue,
            observers: engine.explain(event))
    }
}
