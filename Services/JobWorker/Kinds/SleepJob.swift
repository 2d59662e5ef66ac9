import Contracts
import Logging

/// `sleep`: waits `payload.ms` milliseconds (cancellable), then succeeds. For tests of timeouts,
/// visibility and shutdown.
struct SleepJob: JobHandler {
    let kind = "sleep"
    func run(_ job: Job, logger: Logger) async throws {
        guard case .object(let fields) = job.payload, let milliseconds = fields["ms"]?.intValue, milliseconds >= 0
        else {
            throw payloadError(job, "payload needs a non-negative integer 'ms'")
        }
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
}
