import Config
import Contracts
import Foundation

/// One `[[observers]]` entry. Action settings are kept as read and validated by observer-worker.
public struct ObserverDefinition: Sendable {
    public static let actionKinds = ["webhook", "slack", "email", "search", "job", "log"]

    /// `name`: required, unique.
    public var name: String
    /// `entity`: the entity type to match. Required.
    public var entity: String
    /// `operations`: default all three.
    public var operations: [Contracts.Operation]
    /// `condition`: optional expression (see docs/configuration.md).
    public var condition: String?
    /// `[[observers.actions]]`: each with a `kind`.
    public var actions: [Action]
    /// The retry and failure policy of the observer's actions.
    public var retry: RetryPolicy
    /// The observer's table, for errors that name its keys.
    public var scope: ConfigScope

    /// What happens when an action of the observer keeps failing.
    public struct RetryPolicy: Sendable, Equatable {
        public enum OnFailure: String, Sendable, CaseIterable {
            /// A `DeadLetter` with the reason, and the message is terminated (it can be replayed).
            case deadLetter = "dead_letter"
            /// The failure is logged and counted, and the action is given up: the event is done
            /// for it (for notifications that are worthless late).
            case log
        }

        /// `max_attempts`: deliveries of an event before `on_failure` applies to a retryable
        /// failure. Default: `[observer] max_deliver`.
        public var maxAttempts: Int
        /// `backoff`: `{ kind, base, cap, jitter }`, the delay before the next delivery; keys not
        /// given come from `[observer] backoff`.
        public var backoff: BackoffPolicy
        /// `on_failure`: `dead_letter` (default) or `log`; applies to permanent failures at once
        /// and to retryable ones after `max_attempts`.
        public var onFailure: OnFailure

        public init(maxAttempts: Int, backoff: BackoffPolicy, onFailure: OnFailure = .deadLetter) {
            self.maxAttempts = maxAttempts
            self.backoff = backoff
            self.onFailure = onFailure
        }
    }

    public struct Action: Sendable {
        public var kind: String
        /// The action's other keys, for the observer-worker to validate.
        public var settings: [String: ConfigValue]
        /// Where the action is in the file (`observers[0].actions[1]`), for errors.
        public var path: String
        /// The action's table, for reading its keys with errors that name them.
        public var scope: ConfigScope
    }

    public init(_ scope: ConfigScope, defaults: ObserverConfiguration) throws(ConfigError) {
        self.scope = scope
        guard let name = try scope.optionalString("name") else { throw scope.error("name", "is required") }
        guard let entity = try scope.optionalString("entity") else { throw scope.error("entity", "is required") }
        self.name = name
        self.entity = entity
        var operations: [Contracts.Operation] = []
        for text in try scope.strings("operations", default: Contracts.Operation.allCases.map(\.rawValue)) {
            guard let operation = Contracts.Operation(rawValue: text) else {
                throw scope.error("operations", "'\(text)' is not one of insert, update, delete")
            }
            operations.append(operation)
        }
        self.operations = operations
        condition = try scope.optionalString("condition")
        actions = try scope.tables("actions").map { action throws(ConfigError) in
            let kind = try action.choice("kind", Self.actionKinds, default: "")
            var settings = action.takeEntries()
            settings["kind"] = nil
            return Action(kind: kind, settings: settings, path: action.path, scope: action)
        }
        guard !actions.isEmpty else { throw scope.error("actions", "an observer needs at least one action") }
        retry = RetryPolicy(
            maxAttempts: try scope.int("max_attempts", default: defaults.maxDeliver, range: 1...1000),
            backoff: try scope.section("backoff").backoffPolicy(default: defaults.backoff),
            onFailure: RetryPolicy.OnFailure(
                rawValue: try scope.choice(
                    "on_failure", RetryPolicy.OnFailure.allCases.map(\.rawValue),
                    default: RetryPolicy.OnFailure.deadLetter.rawValue))!)
    }
}
