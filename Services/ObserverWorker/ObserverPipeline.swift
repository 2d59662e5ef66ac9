import Contracts
import Delivery
import FleetCore
import Foundation
import Logging
import Metrics
import Runtime

/// decode → dedup → match → run matched actions (circuit breaker, cache, each under its own
/// timeout) → done marks → the outcome for the transport. Transport-neutral: the NATS consumer and
/// the PostgreSQL transport turn the outcome into ack / nak / term. Messages are prepared
/// (decoded, matched) without I/O, checked against the marks in one round trip per fetched batch,
/// then finished one task each; the final marks of the messages finished meanwhile are written in
/// one round trip by the transport, before their outcomes are applied.
struct ObserverPipeline: Sendable {
    let observers: [CompiledObserver]
    let marks: any MarkStore
    let breakers: CircuitBreakers
    /// For a message that no observer's policy covers (kept because the DLQ could not take it).
    let backoff: BackoffPolicy
    let metrics: ObserverMetrics
    let logger: Logger
    /// Closes what the actions opened (the PostgreSQL audit index connection).
    var close: @Sendable () async -> Void = {}
    private let actionMetrics: [String: ActionMetrics]
    /// Each action's observer's retry and failure policy, by action key.
    private let policies: [String: ObserverDefinition.RetryPolicy]
    /// How long in all an event whose succeeded actions could not be marked done (the mark store
    /// is down) is kept and retried in-process instead of being redelivered, which would repeat
    /// them (see `finish`), and the longest single wait (below the transport's redelivery
    /// timeout, which the message's `keepAlive` restarts before and after each wait).
    let hold: (total: Duration, step: Duration)
    /// Whether a condition or an action reads `before`, `after` or `changes`; when none does,
    /// events are decoded without building them (they are still checked).
    let decodesRows: Bool
    let limits: Limits

    /// What the worker takes before decoding a message.
    struct Limits: Sendable {
        /// Deliveries of one message, whatever their cause (`delivery_limit`).
        var deliveries: Int = 500
        /// The payload's size (`max_event_bytes`).
        var eventBytes: Int = 8 << 20
    }

    init(
        observers: [CompiledObserver], marks: any MarkStore, breakers: CircuitBreakers, backoff: BackoffPolicy,
        hold: (total: Duration, step: Duration), limits: Limits = Limits(), metrics: ObserverMetrics, logger: Logger
    ) {
        self.limits = limits
        self.observers = observers
        self.hold = hold
        self.marks = marks
        self.breakers = breakers
        self.backoff = backoff
        self.metrics = metrics
        self.logger = logger
        var actionMetrics: [String: ActionMetrics] = [:]
        var policies: [String: ObserverDefinition.RetryPolicy] = [:]
        for observer in observers {
            for action in observer.actions {
                actionMetrics[action.key] = ActionMetrics(kind: action.kind, metrics: metrics)
                policies[action.key] = observer.retry
            }
        }
        self.actionMetrics = actionMetrics
        self.policies = policies
        decodesRows = observers.contains { observer in
            observer.condition != nil || observer.actions.contains(where: \.readsRows)
        }
    }

    struct Failure: Sendable {
        var action: any ObserverAction
        var error: DeliveryError
        /// The call was not made (the endpoint's circuit is open): not an attempt.
        var refused = false
    }

    /// An event kept in-process because done marks could not be written (see `finish`).
    struct Hold: Sendable {
        var since: ContinuousClock.Instant
        var rounds: Int
        var unwritten: [String]
    }

    /// How one action went: failed, or done (and whether its done mark was recorded).
    enum ActionResult: Sendable {
        case failed(Failure)
        case done(key: String, marked: Bool)
    }

    /// Decodes and matches; no I/O.
    /// - Parameters:
    ///   - origin: the NATS subject (or transport name), for dead letters.
    ///   - deliveries: this delivery's number, 1-based.
    func prepare(_ payload: [UInt8], origin: String, deliveries: Int) -> PreparedMessage {
        // Before decoding: a message that made a worker crash (which the decoder's own limits
        // should rule out) is settled here once it has been delivered too often, so that it
        // cannot take every worker down in turn, forever.
        if deliveries > limits.deliveries {
            return PreparedMessage(
                payload: payload, origin: origin, deliveries: deliveries,
                work: .refused(
                    .deliveryLimit, "delivered \(deliveries) times, past delivery_limit (\(limits.deliveries))"))
        }
        if payload.count > limits.eventBytes {
            return PreparedMessage(
                payload: payload, origin: origin, deliveries: deliveries,
                work: .refused(
                    .tooLarge, "\(payload.count) bytes, more than max_event_bytes (\(limits.eventBytes))"))
        }
        let event: EntityEvent
        do {
            event = try EntityEvent.decode(payload, rows: decodesRows)
        } catch {
            return PreparedMessage(payload: payload, origin: origin, deliveries: deliveries, work: .undecodable(error))
        }
        var actions: [any ObserverAction] = []
        for observer in observers where observer.matches(event) { actions += observer.actions }
        return PreparedMessage(
            payload: payload, origin: origin, deliveries: deliveries,
            work: actions.isEmpty ? .unmatched(occurredAt: event.occurredAt) : .actions(event, actions))
    }

    /// The marks of every prepared message that has actions, in one round trip (nil for the others).
    func check(_ messages: [PreparedMessage]) async -> [MarkState?] {
        recordLag(messages)
        let pending = messages.compactMap(\.pendingCheck)
        guard !pending.isEmpty else { return messages.map { _ in nil } }
        let started = ContinuousClock.now
        var states = await marks.check(pending).makeIterator()
        metrics.dedupCheck.record(ContinuousClock.now - started)
        return messages.map { $0.pendingCheck == nil ? nil : states.next() }
    }

    /// The transport found nothing waiting: the lag is 0 (not the last batch's, which would stay
    /// up after a backlog drained).
    func caughtUp() { metrics.lag.record(0) }

    /// End-to-end lag (now − occurred_at) of the oldest event of a fetched batch: one gauge update
    /// per batch, not a histogram observation per event.
    private func recordLag(_ messages: [PreparedMessage]) {
        var oldest: Int64?
        for message in messages {
            let occurredAt: Timestamp
            switch message.work {
            case .actions(let event, _): occurredAt = event.occurredAt
            case .unmatched(let at): occurredAt = at
            case .undecodable, .refused: continue
            }
            oldest = min(oldest ?? .max, occurredAt.microsecondsSinceEpoch)
        }
        guard let oldest else { return }
        metrics.lag.record(Double(max(0, Timestamp.now().microsecondsSinceEpoch - oldest)) / 1_000_000)
    }

    /// - Parameters:
    ///   - hold: while the event is kept in-process (see below): when that began, the rounds so
    ///     far, and the actions done meanwhile whose done marks are still unwritten.
    func finish(_ message: PreparedMessage, state: MarkState?, hold kept: Hold? = nil) async -> Settlement {
        let event: EntityEvent
        let actions: [any ObserverAction]
        switch message.work {
        case .undecodable(let error):
            metrics.failed.increment()
            logger.warning(
                "undecodable message, dead-lettered", metadata: ["error": "\(error)", "origin": "\(message.origin)"])
            return await deadLetter(
                message, reason: .undecodable, error: error.message, eventID: error.eventId, handler: nil)
        case .refused(let reason, let text):
            metrics.failed.increment()
            logger.warning(
                "message refused before decoding, dead-lettered",
                metadata: ["error": "\(text)", "origin": "\(message.origin)", "reason": "\(reason.rawValue)"])
            return await deadLetter(message, reason: reason, error: text, eventID: nil, handler: nil)
        case .unmatched:
            metrics.processed.increment()
            return .ack
        case .actions(let matched, let matchedActions):
            event = matched
            actions = matchedActions
        }
        let state = state ?? MarkState()
        var message = message
        message.deliveries = max(1, message.deliveries - state.released)
        let pending = actions.filter { !state.done.contains($0.key) }
        // Processed, or every action done: a repeat (for a one-action event, its done mark is
        // the only mark written).
        if state.processed || (pending.isEmpty && !actions.isEmpty) {
            metrics.dedupHits.increment()
            return .ack
        }
        let input = ActionInput(event: event, payload: message.payload, logger: logger)
        var failures: [Failure] = []
        /// Actions done now whose done mark the store did not take.
        var unmarked: [String] = []
        if pending.count == 1 {
            // The common case: one action, no task group; its done mark goes with the processed
            // mark, and is the only mark of an event with one action (it outlives the processed
            // mark: `done_ttl` ≥ `dedup_window` is checked at start-up), one write less per event.
            if case .failed(let failure) = await run(pending[0], input, markDone: false) {
                failures.append(failure)
            } else {
                metrics.processed.increment()
                return .ack(
                    marking: MarkWrite(
                        event, done: [pending[0].key],
                        processed: MarkCheck.hasProcessedMark(actions: actions.count)))
            }
        } else {
            let results = await withTaskGroup(of: ActionResult.self) { group in
                for action in pending { group.addTask { await run(action, input, markDone: true) } }
                return await group.reduce(into: [ActionResult]()) { $0.append($1) }
            }
            for result in results {
                switch result {
                case .failed(let failure): failures.append(failure)
                case .done(let key, let marked): if !marked { unmarked.append(key) }
                }
            }
        }
        if failures.isEmpty {
            metrics.processed.increment()
            return .ack(marking: MarkWrite(event, done: [], processed: true))
        }
        metrics.failed.increment()
        // Done marks still unwritten from earlier rounds of a hold, and this round's.
        var unwritten = (kept?.unwritten ?? []) + unmarked
        if Task.isCancelled { return Self.cutShort(event, unwritten: unwritten) }
        let logger = logger.for(event)
        let policy = { (key: String) in policies[key] ?? .init(maxAttempts: 1, backoff: backoff) }
        let decision = RetryDecision(
            failures: failures.map {
                RetryDecision.Failure(
                    key: $0.action.key, permanent: $0.error.isPermanent, refused: $0.refused,
                    retryAfter: $0.error.retryAfter)
            }, deliveries: message.deliveries, policy: policy)
        let summary = failures.map { "\($0.action.key): \($0.error.message)" }.joined(separator: "; ")
        // The given-up actions' marks and any unwritten ones, in one round trip; what the store
        // does not take stays unwritten (a hold keeps trying).
        let toMark = unwritten + decision.givenUp.map(\.key)
        if !toMark.isEmpty {
            unwritten = await marks.mark(event, done: toMark, processed: false) ? [] : toMark
        }
        for failure in failures where decision.givenUp.contains(where: { $0.key == failure.action.key }) {
            actionMetrics[failure.action.key]?.givenUp.increment()
            logger.error(
                "action failed, given up (on_failure = log)",
                metadata: [
                    "action": "\(failure.action.key)", "error": "\(failure.error.message)",
                    "deliveries": "\(message.deliveries)",
                ])
        }
        let round = kept?.rounds ?? 0
        let since = kept?.since ?? ContinuousClock.now
        switch decision.next(
            deliveries: message.deliveries, round: round, released: state.released, unwritten: !unwritten.isEmpty,
            held: ContinuousClock.now - since, hold: hold, jitter: .milliseconds(Int.random(in: 0..<100)),
            policy: policy)
        {
        case .deadLetter(let handler, let permanent):
            logger.warning(
                permanent
                    ? "permanent action failure, dead-lettered"
                    : "action still failing after max_attempts, dead-lettered",
                metadata: ["error": "\(summary)", "deliveries": "\(message.deliveries)"])
            return await deadLetter(
                message, reason: permanent ? .permanentError : .retriesExhausted, error: summary, eventID: event.id,
                handler: handler)
        case .ack:
            // The done marks the store did not take go with the final marks: for an event with
            // one action they are its only marks (its processed mark is neither written nor read).
            return .ack(
                marking: MarkWrite(
                    event, done: unwritten, processed: MarkCheck.hasProcessedMark(actions: actions.count)))
        case .hold(let wait):
            // Some actions succeeded but the store (Redis) could not mark them done: a redelivery
            // would repeat them, since its dedup check fails open too. The event stays here (with
            // its slot: back-pressure while the store is down) and only the failed actions are
            // tried again after the delay, as a local redelivery. The transport's keep-alive
            // (NATS: an in-progress ack, which restarts ack_wait) goes before and after the wait.
            logger.info(
                "action failed and done marks could not be written; retrying in-process",
                metadata: ["error": "\(summary)", "deliveries": "\(message.deliveries)", "retry.in": "\(wait)"])
            message.keepAlive?()
            try? await Task.sleep(for: wait)
            if Task.isCancelled { return Self.cutShort(event, unwritten: unwritten) }
            message.keepAlive?()
            let done = state.done.union(pending.map(\.key)).subtracting(decision.retrying.map(\.key))
            return await finish(
                message, state: MarkState(processed: false, done: done),
                hold: Hold(since: since, rounds: round + 1, unwritten: unwritten))
        case .waitForCircuit(let delay):
            logger.debug("circuit open, event waits for it", metadata: ["error": "\(summary)", "retry.in": "\(delay)"])
            return Settlement(
                outcome: .nak(delay: delay), marks: MarkWrite(event, done: unwritten, processed: false, released: true))
        case .retry(let delay):
            logger.info(
                "action failed, will retry",
                metadata: ["error": "\(summary)", "deliveries": "\(message.deliveries)", "retry.in": "\(delay)"])
            return .nak(delay: delay)
        }
    }

    /// Shutdown cut the event short: redeliver it at once (to another worker), after a last try
    /// at its unwritten done marks; the delivery is released, not counted as an attempt.
    private static func cutShort(_ event: EntityEvent, unwritten: [String]) -> Settlement {
        Settlement(
            outcome: .nak(delay: nil),
            marks: MarkWrite(event, done: unwritten, processed: false, released: true))
    }

    /// One action: circuit breaker, cache, the call, and (when `markDone`) its done mark.
    private func run(_ action: any ObserverAction, _ input: ActionInput, markDone: Bool) async -> ActionResult {
        let handles = actionMetrics[action.key] ?? ActionMetrics(kind: action.kind, metrics: metrics)
        guard breakers.allow(action.endpoint) else {
            handles.circuitOpen.increment()
            // Not tried: come back when the circuit lets a trial call through, rather than spend
            // deliveries (and `max_attempts`) on an open circuit.
            return .failed(
                Failure(
                    action: action,
                    error: DeliveryError(
                        .retryable, "circuit open for \(action.endpoint)",
                        retryAfter: breakers.retryDelay(action.endpoint)),
                    refused: true))
        }
        func done() async -> ActionResult {
            guard markDone else { return .done(key: action.key, marked: true) }
            let marked = await marks.mark(input.event, done: [action.key], processed: false)
            return .done(key: action.key, marked: marked)
        }
        var cacheKey: String?
        if let ttl = action.cacheTTL, let key = action.cacheKey(input) {
            if await marks.cached(key) {
                metrics.cacheHits.increment()
                // The endpoint was not called: nothing learned (a half-open trial stays to do).
                breakers.releaseTrial(action.endpoint)
                return await done()
            }
            metrics.cacheMisses.increment()
            cacheKey = ttl > .zero ? key : nil
        }
        let started = ContinuousClock.now
        do {
            if action.needsWatchdog {
                do {
                    try await withTimeout(action.timeout + .seconds(1)) { try await action.perform(input) }
                } catch let timeout as TimeoutError {
                    throw DeliveryError(.retryable, "no answer \(timeout) (the call outlived its own timeout)")
                }
            } else {
                try await action.perform(input)
            }
            handles.duration.record(ContinuousClock.now - started)
            handles.executed.increment()
            breakers.record(action.endpoint, success: true)
            if let cacheKey, let ttl = action.cacheTTL { await marks.cache(cacheKey, ttl: ttl) }
            return await done()
        } catch {
            handles.duration.record(ContinuousClock.now - started)
            let failure: DeliveryError =
                switch error {
                case let delivery as DeliveryError: delivery
                default: DeliveryError(.retryable, "\(error)")
                }
            (failure.isPermanent ? handles.permanent : handles.retryable).increment()
            if Task.isCancelled {
                // Shutdown cancelled the call: says nothing about the endpoint.
                breakers.releaseTrial(action.endpoint)
            } else {
                breakers.record(action.endpoint, success: failure.isPermanent)
            }
            return .failed(Failure(action: action, error: failure))
        }
    }

    private func deadLetter(
        _ message: PreparedMessage, reason: DeadLetter.Reason, error: String, eventID: UUID?, handler: String?
    ) async -> Settlement {
        let now = Timestamp.now()
        let letter = DeadLetter(
            origin: message.origin, payload: String(decoding: message.payload, as: UTF8.self), reason: reason,
            attempts: message.deliveries, firstFailedAt: now, lastFailedAt: now, lastError: error, eventId: eventID,
            handler: handler)
        guard await marks.deadLetter(letter) else {
            // Nowhere to keep it: keep the message instead.
            return .nak(delay: backoff.delay(afterFailure: message.deliveries))
        }
        metrics.deadLetters(reason).increment()
        return .term
    }
}

extension ObserverPipeline {
    /// The servers the observers' actions reach.
    var links: [ServerLink] { observers.flatMap { $0.actions.compactMap(\.link) } }
}
