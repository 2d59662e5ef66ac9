import Contracts
import FleetAdmin

/// The body of a retry-all call: which letters it takes.
struct FilterBody: Codable, Sendable {
    var reason: String?
    var entity: String?
    var handler: String?

    func filter() throws -> DeadLetterFilter {
        var filter = DeadLetterFilter(entity: entity, handler: handler)
        if let reason {
            guard let value = DeadLetter.Reason(rawValue: reason) else {
                throw AdminAPIError.badRequest("'reason' is not a dead-letter reason")
            }
            filter.reason = value
        }
        return filter
    }
}
