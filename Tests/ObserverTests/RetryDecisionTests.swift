import Contracts
import FleetCore
import Runtime
import Testing

@testable import ObserverWorker

/// The observer pipeline's retry decision, without servers: which failures are retried, given up
/// or dead-lettered, and when the event comes back.
@Suite("RetryDecision")
struct RetryDecisionTests {
    typealias Failure = RetryDecision.Failure
    typealias Policy = ObserverDefinition.RetryPolicy

    /// 1 s, 2 s, 4 s … without jitter.
    static let backoff = BackoffPolicy(kind: .exponential, baseMilliseconds: 1000, capMilliseconds: 60_000)
    static let hold = (total: Duration.seconds(60), step: Duration.seconds(10))

    func policies(_ table: [String: Policy]) -> (String) -> Policy {
        { table[$0] ?? Policy(maxAttempts: 3, backoff: Self.backoff) }
    }

    func next(
        _ decision: RetryDecision, deliveries: Int, policy: @escaping (String) -> Policy, unwritten: Bool = false,
        held: Duration = .zero, released: Int = 0
    ) -> RetryDecision.Next {
        decision.next(
            deliveries: deliveries, round: 0, released: released, unwritten: unwritten, held: held, hold: Self.hold,
            jitter: .zero, policy: policy)
    }

    @Test("a retryable failure under max_attempts is retried after its observer's backoff")
    func retryable() {
        let policy = policies([:])
        let decision = RetryDecision(failures: [Failure(key: "a", permanent: false)], deliveries: 1, policy: policy)
        #expect(decision.retrying.map(\.key) == ["a"])
        #expect(next(decision, deliveries: 1, policy: policy) == .retry(delay: .seconds(1)))
        #expect(next(decision, deliveries: 2, policy: policy) == .retry(delay: .seconds(2)))
    }

    @Test("at max_attempts a retryable failure is dead-lettered as retries exhausted; a permanent one at once")
    func exhaustedAndPermanent() {
        let policy = policies([:])
        let exhausted = RetryDecision(failures: [Failure(key: "a", permanent: false)], deliveries: 3, policy: policy)
        #expect(next(exhausted, deliveries: 3, policy: policy) == .deadLetter(handler: "a", permanent: false))
        let permanent = RetryDecision(failures: [Failure(key: "b", permanent: true)], deliveries: 1, policy: policy)
        #expect(next(permanent, deliveries: 1, policy: policy) == .deadLetter(handler: "b", permanent: true))
    }

    @Test("on_failure = log gives the action up: the event is done when nothing else is retried")
    func givenUp() {
        let policy = policies(["a": Policy(maxAttempts: 1, backoff: Self.backoff, onFailure: .log)])
        let decision = RetryDecision(failures: [Failure(key: "a", permanent: true)], deliveries: 1, policy: policy)
        #expect(decision.givenUp.map(\.key) == ["a"])
        #expect(next(decision, deliveries: 1, policy: policy) == .ack)
    }

    @Test("the longest delay of the failing observers wins, and a longer Retry-After wins over it")
    func longestDelay() {
        let policy = policies([
            "slow": Policy(
                maxAttempts: 5,
                backoff: BackoffPolicy(kind: .fixed, baseMilliseconds: 7000, capMilliseconds: 7000))
        ])
        let failures = [Failure(key: "fast", permanent: false), Failure(key: "slow", permanent: false)]
        let decision = RetryDecision(failures: failures, deliveries: 1, policy: policy)
        #expect(next(decision, deliveries: 1, policy: policy) == .retry(delay: .seconds(7)))
        let asked = RetryDecision(
            failures: [Failure(key: "fast", permanent: false, retryAfter: .seconds(30))], deliveries: 1, policy: policy)
        #expect(next(asked, deliveries: 1, policy: policy) == .retry(delay: .seconds(30)))
    }

    @Test("refusals by an open circuit are not attempts: retried past max_attempts, the delivery released")
    func circuitRefusals() {
        let policy = policies([:])
        let refused = Failure(key: "a", permanent: false, refused: true, retryAfter: .seconds(12))
        let decision = RetryDecision(failures: [refused], deliveries: 9, policy: policy)
        #expect(decision.retrying.count == 1)
        #expect(next(decision, deliveries: 9, policy: policy) == .waitForCircuit(delay: .seconds(12)))
        // After 100 refusals the pause grows by 5 s per refusal.
        #expect(next(decision, deliveries: 9, policy: policy, released: 110) == .waitForCircuit(delay: .seconds(55)))
        // A refusal beside a real failure: an ordinary retry.
        let mixed = RetryDecision(
            failures: [refused, Failure(key: "b", permanent: false)], deliveries: 1, policy: policy)
        #expect(next(mixed, deliveries: 1, policy: policy) == .retry(delay: .seconds(12)))
    }

    @Test("unwritten done marks hold the event in-process, in steps, within the hold's total")
    func hold() {
        let policy = policies([:])
        let decision = RetryDecision(failures: [Failure(key: "a", permanent: false)], deliveries: 1, policy: policy)
        #expect(next(decision, deliveries: 1, policy: policy, unwritten: true) == .hold(wait: .seconds(1)))
        #expect(
            next(decision, deliveries: 1, policy: policy, unwritten: true, held: .seconds(59.5))
                == .retry(delay: .seconds(1)), "past the hold's total: redelivered")
        let pause = RetryDecision(
            failures: [Failure(key: "a", permanent: false, retryAfter: .seconds(20))], deliveries: 1, policy: policy)
        #expect(
            next(pause, deliveries: 1, policy: policy, unwritten: true) == .retry(delay: .seconds(20)),
            "a server's pause longer than a step is not held")
    }

    @Test("a dead-lettered failure wins over retries of the event's other actions")
    func deadLetterWins() {
        let policy = policies([:])
        let decision = RetryDecision(
            failures: [Failure(key: "a", permanent: false), Failure(key: "b", permanent: true)], deliveries: 1,
            policy: policy)
        #expect(next(decision, deliveries: 1, policy: policy) == .deadLetter(handler: "b", permanent: true))
    }
}
