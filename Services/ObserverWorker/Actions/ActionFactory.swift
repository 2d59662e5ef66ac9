import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

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
