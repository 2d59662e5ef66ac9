import Config
import Contracts
import FleetCore
import Logging

/// The observers of a configuration, compiled as the workers compile them, without connecting
/// to anything: what `debug-event` and replay dry runs ask which observers match an event and
/// what their actions would send.
public struct RuleEngine: Sendable {
    let observers: [CompiledObserver]
    private let logger = Logger(label: "fraiseql.rule-engine")

    public init(_ configuration: FleetConfiguration) throws(ConfigError) {
        observers = try ObserverWorker.compileForValidation(configuration)
    }

    /// The endpoints of the observers' actions, each with its own circuit breaker, sorted.
    public var endpoints: [String] { CompiledObserver.endpoints(observers) }

    /// The observers' names, in configuration order.
    public var observerNames: [String] { observers.map(\.name) }

    /// Every observer's verdict on `event`, in configuration order.
    public func explain(_ event: EntityEvent) -> [ObserverExplanation] {
        let payload = FastJSON.encode(event)
        let input = ActionInput(event: event, payload: payload, logger: logger)
        return observers.map { observer in
            var explanation = ObserverExplanation(
                observer: observer.name, matched: false, reason: "", condition: observer.condition?.source,
                clauses: [], actions: [])
            if event.entityType != observer.entity {
                explanation.reason = "entity is '\(event.entityType)', the observer watches '\(observer.entity)'"
                return explanation
            }
            if !observer.operations.contains(event.operation) {
                explanation.reason =
                    "operation is \(event.operation.rawValue), the observer takes "
                    + observer.operations.map(\.rawValue).sorted().joined(separator: ", ")
                return explanation
            }
            if let condition = observer.condition {
                explanation.clauses = condition.clauses(event)
                if !condition.matches(event) {
                    explanation.reason = "the condition is false"
                    return explanation
                }
            }
            explanation.matched = true
            explanation.actions = observer.actions.map { action in
                ActionExplanation(
                    key: action.key, kind: action.kind, endpoint: action.endpoint, preview: action.preview(input))
            }
            return explanation
        }
    }
}
