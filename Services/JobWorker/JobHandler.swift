import Contracts
import Delivery
import Logging

/// One job kind. A new kind is one file: a type conforming to this protocol, added to
/// ``JobWorker/defaultHandlers(_:)``.
///
/// `run` returns when the job succeeded. Throw a ``DeliveryError`` to say whether retrying can
/// help (`.permanent` goes to the dead-letter queue at once; `retryAfter` delays the next attempt);
/// any other error is retried. A job must tolerate being run more than once (a worker may die after
/// the effect and before the acknowledgement): use `job.id` as the idempotency key.
public protocol JobHandler: Sendable {
    /// The `kind` of the jobs this handler runs.
    var kind: String { get }
    func run(_ job: Job, logger: Logger) async throws
}

/// A payload field that is missing or has the wrong type: permanent, retrying cannot fix it.
func payloadError(_ job: Job, _ message: String) -> DeliveryError {
    DeliveryError(.permanent, "job kind '\(job.kind)': \(message)")
}
