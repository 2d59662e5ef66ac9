import Contracts
import FleetCore
import Runtime

/// What happens to an event whose actions failed, decided from the failures and the policies
/// alone (no I/O, no clock, no randomness: the caller passes the jitter and the time held), so
/// that unit tests can drive every branch. ``ObserverPipeline`` applies it.
///
/// Each failure is settled by its observer's policy: retried while the event has had fewer than
/// `max_attempts` deliveries and the error is retryable; otherwise dead-lettered (the message is
/// terminated) or, with `on_failure = "log"`, given up: logged, counted and marked done, so that
/// no later delivery of the event repeats it. A refusal by an open circuit is not an attempt: the
/// action waits for the circuit (whatever its attempts so far), and when every failure was a
/// refusal the delivery is released (not counted toward `max_attempts`, as a hand-back at
/// shutdown).
struct RetryDecision: Sendable {
    /// One failed action, as the decision sees it.
    struct Failure: Sendable, Equatable {
        var key: String
        var permanent: Bool
        /// Not tried: the endpoint's circuit is open.
        var refused: Bool = false
        /// A pause the server asked for (`Retry-After`), or the circuit's time to its next trial.
        var retryAfter: Duration? = nil
    }

    /// What the pipeline does next.
    enum Next: Sendable, Equatable {
        /// Dead-letter the event with the first such failure's action as its handler.
        case deadLetter(handler: String, permanent: Bool)
        /// Every failure was given up: the event is done.
        case ack
        /// Done marks could not be written: keep the event in-process, retry the failed actions
        /// after `wait` (a redelivery would repeat the actions that succeeded).
        case hold(wait: Duration)
        /// Every failure was a refusal by an open circuit: release the delivery, back after `delay`.
        case waitForCircuit(delay: Duration)
        /// Redeliver after `delay`.
        case retry(delay: Duration)
    }

    private(set) var retrying: [Failure] = []
    private(set) var givenUp: [Failure] = []
    private(set) var deadLettered: [Failure] = []
    private let onlyRefused: Bool

    /// Sorts the failures by their observers' policies; `deliveries` is the event's attempts so far.
    init(
        failures: [Failure], deliveries: Int, policy: (String) -> ObserverDefinition.RetryPolicy
    ) {
        onlyRefused = failures.allSatisfy(\.refused)
        for failure in failures {
            let policy = policy(failure.key)
            if failure.refused || (!failure.permanent && deliveries < policy.maxAttempts) {
                retrying.append(failure)
            } else if policy.onFailure == .log {
                givenUp.append(failure)
            } else {
                deadLettered.append(failure)
            }
        }
    }

    /// The next step, once the given-up actions' done marks were written (or not).
    /// - Parameters:
    ///   - deliveries: the event's attempts so far; `round`: in-process rounds of a hold so far
    ///     (they count for the backoff, not for `max_attempts`); `released`: deliveries released
    ///     so far (refusals by an open circuit, shutdown hand-backs).
    ///   - unwritten: done marks of succeeded actions the store did not take.
    ///   - held: how long the event has been kept in-process already; `hold`: the limits of that.
    ///   - jitter: added to a circuit wait, so that waiting events do not come back together.
    func next(
        deliveries: Int, round: Int, released: Int, unwritten: Bool, held: Duration,
        hold: (total: Duration, step: Duration), jitter: Duration,
        policy: (String) -> ObserverDefinition.RetryPolicy
    ) -> Next {
        if let first = deadLettered.first { return .deadLetter(handler: first.key, permanent: first.permanent) }
        if retrying.isEmpty { return .ack }
        var delay = Duration.zero
        for failure in retrying {
            if failure.refused {
                // Back when the circuit lets a trial through; after 100 refusals, no sooner than a
                // pause that grows by 5 s per refusal up to 5 minutes: with the default
                // `circuit_reset` (30 s) a circuit open for a day costs an event about 410
                // deliveries, under `delivery_limit` (500).
                let pause = Duration.seconds(5 * max(0, min(released - 99, 60)))
                delay = max(delay, failure.retryAfter ?? .zero, pause) + jitter
                continue
            }
            delay = max(delay, policy(failure.key).backoff.delay(afterFailure: deliveries + round))
            if let retryAfter = failure.retryAfter { delay = max(delay, retryAfter) }
        }
        // Waits longer than a step are cut to it (the keep-alive must come within ack_wait),
        // unless a server asked for a longer pause (`Retry-After`): then the event is NAKed.
        let wait = min(max(delay, .milliseconds(100)), hold.step)
        let pauseAsked = retrying.contains { ($0.retryAfter ?? .zero) > hold.step }
        if unwritten, !pauseAsked, hold.step > .zero, held + wait <= hold.total { return .hold(wait: wait) }
        if onlyRefused { return .waitForCircuit(delay: delay) }
        return .retry(delay: delay)
    }
}
