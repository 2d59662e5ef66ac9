import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

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
