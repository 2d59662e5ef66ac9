import ArgumentParser
import Contracts
import FleetAdmin

/// `--reason`, `--entity`, `--handler`: which letters a retry-all takes.
struct DeadLetterFilterOptions: ParsableArguments {
    @Option(help: "Only letters with this reason (permanent_error, retries_exhausted, too_large, delivery_limit).")
    var reason: String?
    @Option(help: "Only observer letters of this entity type.") var entity: String?
    @Option(help: "Only letters of this observer action (name#index) or job kind.") var handler: String?

    func filter() throws -> DeadLetterFilter {
        var filter = DeadLetterFilter(entity: entity, handler: handler)
        if let reason {
            guard let value = DeadLetter.Reason(rawValue: reason) else {
                throw ValidationError("--reason '\(reason)' is not a dead-letter reason")
            }
            filter.reason = value
        }
        return filter
    }
}
