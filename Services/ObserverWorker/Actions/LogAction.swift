import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

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

    func preview(_ input: ActionInput) -> String {
        "log at \(level): "
            + (message?.render(input.context)
                ?? "\(input.event.entityType) \(input.event.operation.rawValue) \(input.event.entityId)")
    }

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
