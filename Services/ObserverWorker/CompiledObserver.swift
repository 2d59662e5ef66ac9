import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import Logging
import Metrics
import Runtime

/// An observer from the configuration, compiled: condition parsed, actions built.
struct CompiledObserver: Sendable {
    let name: String
    let entity: String
    let operations: Set<Contracts.Operation>
    let condition: Condition?
    let actions: [any ObserverAction]
    let retry: ObserverDefinition.RetryPolicy

    func matches(_ event: EntityEvent) -> Bool {
        event.entityType == entity && operations.contains(event.operation) && (condition?.matches(event) ?? true)
    }

    /// The distinct endpoints of the observers' actions (each has its own circuit breaker), sorted.
    static func endpoints(_ observers: [CompiledObserver]) -> [String] {
        Set(observers.flatMap { $0.actions.map(\.endpoint) }).sorted()
    }

    static func compile(_ definitions: [ObserverDefinition], resources: ActionResources) throws(ConfigError)
        -> [CompiledObserver]
    {
        var names: Set<String> = []
        var observers: [CompiledObserver] = []
        for definition in definitions {
            guard names.insert(definition.name).inserted else {
                throw definition.scope.error("name", "observer '\(definition.name)' is defined twice")
            }
            var condition: Condition?
            if let source = definition.condition {
                do {
                    condition = try Condition(source)
                } catch {
                    throw definition.scope.error(
                        "condition", "observer '\(definition.name)': \(error.description): \(source)")
                }
            }
            var actions: [any ObserverAction] = []
            for (index, action) in definition.actions.enumerated() {
                actions.append(
                    try ActionFactory.make(action, key: "\(definition.name)#\(index)", resources: resources))
            }
            observers.append(
                CompiledObserver(
                    name: definition.name, entity: definition.entity, operations: Set(definition.operations),
                    condition: condition, actions: actions, retry: definition.retry))
        }
        return observers
    }
}
