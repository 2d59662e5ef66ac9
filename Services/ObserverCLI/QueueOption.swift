import ArgumentParser
import FleetAdmin

/// `--queue observer|jobs:<queue>`.
struct QueueOption: ParsableArguments {
    @Option(help: "observer (default) or jobs:<queue>.") var queue: String = "observer"

    func parsed() throws -> DeadLetterQueue {
        guard let parsed = DeadLetterQueue(queue) else {
            throw ValidationError("--queue is observer or jobs:<queue>, not '\(queue)'")
        }
        return parsed
    }
}
