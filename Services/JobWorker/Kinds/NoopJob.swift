import Contracts
import Logging

/// `noop`: succeeds at once. For tests, benchmarks and checking a queue end to end.
struct NoopJob: JobHandler {
    let kind = "noop"
    func run(_ job: Job, logger: Logger) async throws {}
}
