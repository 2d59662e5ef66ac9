import Contracts
import Delivery
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

/// One event, as the actions see it. The template context is built on first use (only actions
/// with templates need it).
struct ActionInput: Sendable {
    let event: EntityEvent
    let payload: [UInt8]
    private let workerLogger: Logger
    private let lazyContext: LazyTemplateContext

    init(event: EntityEvent, payload: [UInt8], logger: Logger) {
        self.event = event
        self.payload = payload
        self.workerLogger = logger
        lazyContext = LazyTemplateContext(event: event, payload: payload)
    }

    /// The worker's logger with the event's id and entity as metadata. Built on use: setting
    /// metadata re-renders a stream log handler's metadata, too costly per event when nothing logs.
    var logger: Logger { workerLogger.for(event) }

    var logLevel: Logger.Level { workerLogger.logLevel }

    var context: TemplateContext { lazyContext.value }
}

final class LazyTemplateContext: Sendable {
    private let event: EntityEvent
    private let payload: [UInt8]
    private let built = Mutex<TemplateContext?>(nil)

    init(event: EntityEvent, payload: [UInt8]) {
        self.event = event
        self.payload = payload
    }

    var value: TemplateContext {
        built.withLock { built in
            if let built { return built }
            let context = TemplateContext(event, json: payload)
            built = context
            return context
        }
    }
}

/// An action of an observer. `perform` returns when the effect happened, within `timeout` (each
/// action enforces its own: HTTP and SMTP deadlines, a guarded query for the audit index); it throws
/// a ``DeliveryError`` saying whether retrying can help (any other error is retried).
protocol ObserverAction: Sendable {
    var kind: String { get }
    /// `<observer>#<index>`: names the action in done marks, idempotency keys and metrics.
    var key: String { get }
    /// What the circuit breaker guards: one breaker per endpoint (URL host, SMTP relay, …).
    var endpoint: String { get }
    var timeout: Duration { get }
    /// Optional: how long a success is remembered for an identical rendered request (result cache).
    var cacheTTL: Duration? { get }
    /// The identity of the rendered request for the result cache, when the action has one.
    func cacheKey(_ input: ActionInput) -> String?
    func perform(_ input: ActionInput) async throws
    /// Whether the pipeline enforces `timeout` itself (a second after it), in case the call does
    /// not keep its own deadline. False only for actions without I/O.
    var needsWatchdog: Bool { get }
    /// Whether the action reads the event's `before`, `after` or `changes` (false lets the worker
    /// skip building them).
    var readsRows: Bool { get }
    /// The server the action reaches, for the start-up TLS report; nil for none.
    var link: ServerLink? { get }
}

extension ObserverAction {
    var link: ServerLink? { nil }
    var needsWatchdog: Bool { true }
    var readsRows: Bool { true }
    var cacheTTL: Duration? { nil }
    func cacheKey(_ input: ActionInput) -> String? { nil }
}

/// The shared clients actions are built with.
struct ActionResources: Sendable {
    var http: HTTPDelivery
    var smtp: SMTPClient?
    var smtpFrom: String
    var jobQueue: JobQueue?
    var jobs: JobsConfiguration
    var search: (any SearchIndex)?
    var searchIndexName: String
}

/// Reads one `[[observers.actions]]` table, naming the key in every error.
struct ActionSettings {
    let action: ObserverDefinition.Action
    let allowed: Set<String>

    init(_ action: ObserverDefinition.Action, allowed: Set<String>) throws(ConfigError) {
        self.action = action
        self.allowed = allowed
        for key in action.settings.keys.sorted() where !allowed.contains(key) {
            throw action.scope.error(
                key, "unknown key for a '\(action.kind)' action (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    var scope: ConfigScope { action.scope }

    func template(_ key: String, escaping: EventTemplate.Escaping, default fallback: String? = nil)
        throws(ConfigError) -> EventTemplate?
    {
        guard let text = try scope.optionalString(key) ?? fallback else { return nil }
        do {
            return try EventTemplate(text, escaping: escaping)
        } catch {
            throw scope.error(key, "is not a valid Mustache template: \(error)")
        }
    }

    func requiredTemplate(_ key: String, escaping: EventTemplate.Escaping) throws(ConfigError) -> EventTemplate {
        guard let template = try template(key, escaping: escaping) else { throw scope.error(key, "is required") }
        return template
    }

    func timeout(default fallback: Duration) throws(ConfigError) -> Duration {
        try scope.duration("timeout", default: fallback)
    }

    /// A URL given as `<key>`, `<key>_env` or `<key>_file` (it may carry a token).
    func url(_ key: String = "url") throws(ConfigError) -> Secret {
        guard let secret = try scope.secret(key) else {
            throw scope.error(key, "is required (or \(key)_env / \(key)_file)")
        }
        guard let url = URL(string: secret.value), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else { throw scope.error(key, "is not an http(s) URL") }
        return secret
    }
}

enum ActionFactory {
    static func make(_ action: ObserverDefinition.Action, key: String, resources: ActionResources)
        throws(ConfigError) -> any ObserverAction
    {
        switch action.kind {
        case "webhook": return try WebhookAction(action, key: key, http: resources.http)
        case "slack": return try SlackAction(action, key: key, http: resources.http)
        case "email": return try EmailAction(action, key: key, resources: resources)
        case "search": return try SearchAction(action, key: key, resources: resources)
        case "job": return try JobAction(action, key: key, resources: resources)
        default: return try LogAction(action, key: key)
        }
    }
}

/// `log`: writes the event (or a templated message) to the service log. `level` (default `info`),
/// `message` (text template; default: entity, operation and id).
struct LogAction: ObserverAction {
    let kind = "log"
    let key: String
    let endpoint = "log"
    let timeout = Duration.seconds(1)
    let needsWatchdog = false
    let level: Logger.Level
    let message: EventTemplate?

    init(_ action: ObserverDefinition.Action, key: String) throws(ConfigError) {
        let settings = try ActionSettings(action, allowed: ["level", "message"])
        self.key = key
        let levels = Logger.Level.allCases.map(\.rawValue)
        level = Logger.Level(rawValue: try settings.scope.choice("level", levels, default: "info")) ?? .info
        message = try settings.template("message", escaping: .text)
    }

    var readsRows: Bool { message?.readsRows ?? false }

    func perform(_ input: ActionInput) async throws {
        guard level >= input.logLevel else { return }  // not printed: nothing to render
        let text =
            message?.render(input.context)
            ?? "\(input.event.entityType) \(input.event.operation.rawValue) \(input.event.entityId)"
        input.logger.log(level: level, "\(text)", metadata: ["observer.action": "\(key)"])
    }
}

extension Logger {
    /// This logger with an event's id and entity as metadata.
    func `for`(_ event: EntityEvent) -> Logger {
        var logger = self
        logger[metadataKey: "event.id"] = "\(event.id.lowercasedString)"
        logger[metadataKey: "event.entity"] = "\(event.entityType)"
        return logger
    }
}
