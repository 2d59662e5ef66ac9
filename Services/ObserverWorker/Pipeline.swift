import Contracts
import Delivery
import Foundation
import Logging
import Metrics
import Runtime

/// An observer from the configuration, compiled: condition parsed, actions built.
struct CompiledObserver: Sendable {
    let name: String
    let entity: String
    let operations: Set<Contracts.Operation>
    let condition: Condition?
    let actions: [any ObserverAction]

    func matches(_ event: EntityEvent) -> Bool {
        event.entityType == entity && operations.contains(event.operation) && (condition?.matches(event) ?? true)
    }

    static func compile(_ definitions: [ObserverDefinition], resources: ActionResources) throws(ConfigError)
        -> [CompiledObserver]
    {
        var names: Set<String> = []
        var observers: [CompiledObserver] = []
        for definition in definitions {
            guard names.insert(definition.name).inserted else {
                throw definition.scope.error("name", "observer '\(definition.name)' is defined twice")
            }
            var condition: Condition?
            if let source = definition.condition {
                do {
                    condition = try Condition(source)
                } catch {
                    throw definition.scope.error(
                        "condition", "observer '\(definition.name)': \(error.description): \(source)")
                }
            }
            var actions: [any ObserverAction] = []
            for (index, action) in definition.actions.enumerated() {
                actions.append(
                    try ActionFactory.make(action, key: "\(definition.name)#\(index)", resources: resources))
            }
            observers.append(
                CompiledObserver(
                    name: definition.name, entity: definition.entity, operations: Set(definition.operations),
                    condition: condition, actions: actions))
        }
        return observers
    }
}

/// What to do with a message after processing.
enum Outcome: Equatable, Sendable {
    case ack
    case nak(delay: Duration?)
    case term
}

/// Metrics of observer-worker (`fraiseql_observer_*`).
struct ObserverMetrics: Sendable {
    let factory: any MetricsFactory
    let processed: Counter
    let failed: Counter
    let dedupHits: Counter
    let cacheHits: Counter
    let cacheMisses: Counter
    let redisErrors: Counter
    let inFlight: Gauge
    let lag: Timer
    let dedupCheck: Timer
    let deadLetterSize: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        processed = Counter(label: "fraiseql_observer_events_processed_total", factory: factory)
        failed = Counter(label: "fraiseql_observer_events_failed_total", factory: factory)
        dedupHits = Counter(label: "fraiseql_observer_dedup_hits_total", factory: factory)
        cacheHits = Counter(label: "fraiseql_observer_cache_hits_total", factory: factory)
        cacheMisses = Counter(label: "fraiseql_observer_cache_misses_total", factory: factory)
        redisErrors = Counter(label: "fraiseql_observer_store_errors_total", factory: factory)
        inFlight = Gauge(label: "fraiseql_observer_in_flight", factory: factory)
        lag = Timer(label: "fraiseql_observer_lag_seconds", preferredDisplayUnit: .seconds, factory: factory)
        dedupCheck = Timer(
            label: "fraiseql_observer_dedup_check_seconds", preferredDisplayUnit: .seconds, factory: factory)
        deadLetterSize = Gauge(label: "fraiseql_observer_dlq_size", factory: factory)
    }

    func executed(_ kind: String) -> Counter {
        Counter(label: "fraiseql_observer_actions_executed_total", dimensions: [("kind", kind)], factory: factory)
    }
    func actionFailed(_ kind: String, _ failure: String) -> Counter {
        Counter(
            label: "fraiseql_observer_actions_failed_total", dimensions: [("kind", kind), ("class", failure)],
            factory: factory)
    }
    func duration(_ kind: String) -> Timer {
        Timer(
            label: "fraiseql_observer_action_duration_seconds", dimensions: [("kind", kind)],
            preferredDisplayUnit: .seconds, factory: factory)
    }
    func deadLetters(_ reason: DeadLetter.Reason) -> Counter {
        Counter(
            label: "fraiseql_observer_dead_letters_total", dimensions: [("reason", reason.rawValue)], factory: factory)
    }
    func circuit(_ endpoint: String) -> Gauge {
        Gauge(label: "fraiseql_observer_circuit_state", dimensions: [("endpoint", endpoint)], factory: factory)
    }
}

/// decode → dedup → match → run matched actions (timeout, circuit breaker, cache) → done marks →
/// the outcome for the transport. Transport-neutral: the NATS consumer (and, later, the PostgreSQL
/// transport) turn the outcome into ack / nak / term.
struct ObserverPipeline: Sendable {
    let observers: [CompiledObserver]
    let marks: any MarkStore
    let breakers: CircuitBreakers
    let backoff: BackoffPolicy
    let maxDeliver: Int
    let metrics: ObserverMetrics
    let logger: Logger
    /// Closes what the actions opened (the PostgreSQL audit index connection).
    var close: @Sendable () async -> Void = {}

    struct Failure: Sendable {
        var action: any ObserverAction
        var error: DeliveryError
    }

    /// - Parameters:
    ///   - origin: the NATS subject (or transport name), for dead letters.
    ///   - deliveries: this delivery's number, 1-based.
    func process(_ payload: [UInt8], origin: String, deliveries: Int) async -> Outcome {
        let event: EntityEvent
        do {
            event = try EntityEvent.decode(payload)
        } catch {
            metrics.failed.increment()
            logger.warning(
                "undecodable message, dead-lettered", metadata: ["error": "\(error)", "origin": "\(origin)"])
            return await deadLetter(
                payload, origin: origin, reason: .undecodable, attempts: deliveries, error: error.message,
                eventID: error.eventId, handler: nil)
        }
        metrics.lag.record(
            .microseconds(max(0, Timestamp.now().microsecondsSinceEpoch - event.occurredAt.microsecondsSinceEpoch)))
        let actions = observers.filter { $0.matches(event) }.flatMap(\.actions)
        guard !actions.isEmpty else {
            metrics.processed.increment()
            return .ack
        }
        var logger = self.logger
        logger[metadataKey: "event.id"] = "\(event.id.uuidString.lowercased())"
        logger[metadataKey: "event.entity"] = "\(event.entityType)"
        let checkStarted = ContinuousClock.now
        let (processed, done) = await marks.check(eventID: event.id, actionKeys: actions.map(\.key))
        metrics.dedupCheck.record(ContinuousClock.now - checkStarted)
        if processed {
            metrics.dedupHits.increment()
            return .ack
        }
        let input = ActionInput(event: event, context: TemplateContext(event, json: payload), logger: logger)
        let pending = actions.filter { !done.contains($0.key) }
        let failures = await withTaskGroup(of: Failure?.self) { group in
            for action in pending { group.addTask { await run(action, input) } }
            var failures: [Failure] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        if failures.isEmpty {
            await marks.markProcessed(eventID: event.id)
            metrics.processed.increment()
            return .ack
        }
        metrics.failed.increment()
        if Task.isCancelled { return .nak(delay: nil) }  // shutdown cut it short: redeliver at once
        let summary = failures.map { "\($0.action.key): \($0.error.message)" }.joined(separator: "; ")
        if let permanent = failures.first(where: { $0.error.isPermanent }) {
            logger.warning("permanent action failure, dead-lettered", metadata: ["error": "\(summary)"])
            return await deadLetter(
                payload, origin: origin, reason: .permanentError, attempts: deliveries, error: summary,
                eventID: event.id, handler: permanent.action.key)
        }
        if deliveries >= maxDeliver {
            logger.warning(
                "action still failing after max_deliver, dead-lettered",
                metadata: ["error": "\(summary)", "deliveries": "\(deliveries)"])
            return await deadLetter(
                payload, origin: origin, reason: .retriesExhausted, attempts: deliveries, error: summary,
                eventID: event.id, handler: failures[0].action.key)
        }
        var delay = backoff.delay(afterFailure: deliveries)
        for failure in failures {
            if let retryAfter = failure.error.retryAfter, retryAfter > delay { delay = retryAfter }
        }
        logger.info(
            "action failed, will retry",
            metadata: ["error": "\(summary)", "deliveries": "\(deliveries)", "retry.in": "\(delay)"])
        return .nak(delay: delay)
    }

    /// One action: circuit breaker, cache, timeout, done mark. Returns the failure, if any.
    private func run(_ action: any ObserverAction, _ input: ActionInput) async -> Failure? {
        guard breakers.allow(action.endpoint) else {
            metrics.actionFailed(action.kind, "circuit_open").increment()
            return Failure(action: action, error: DeliveryError(.retryable, "circuit open for \(action.endpoint)"))
        }
        var cacheKey: String?
        if let ttl = action.cacheTTL, let key = action.cacheKey(input) {
            if await marks.cached(key) {
                metrics.cacheHits.increment()
                breakers.record(action.endpoint, success: true)
                await marks.markDone(eventID: input.event.id, actionKey: action.key)
                return nil
            }
            metrics.cacheMisses.increment()
            cacheKey = ttl > .zero ? key : nil
        }
        let started = ContinuousClock.now
        do {
            try await withTimeout(action.timeout) { try await action.perform(input) }
            metrics.duration(action.kind).record(ContinuousClock.now - started)
            metrics.executed(action.kind).increment()
            breakers.record(action.endpoint, success: true)
            await marks.markDone(eventID: input.event.id, actionKey: action.key)
            if let cacheKey, let ttl = action.cacheTTL { await marks.cache(cacheKey, ttl: ttl) }
            return nil
        } catch {
            metrics.duration(action.kind).record(ContinuousClock.now - started)
            let failure: DeliveryError =
                switch error {
                case let delivery as DeliveryError: delivery
                case let timeout as TimeoutError: DeliveryError(.retryable, "\(action.kind) \(timeout)")
                default: DeliveryError(.retryable, "\(error)")
                }
            metrics.actionFailed(action.kind, failure.class.rawValue).increment()
            breakers.record(action.endpoint, success: failure.isPermanent)
            return Failure(action: action, error: failure)
        }
    }

    private func deadLetter(
        _ payload: [UInt8], origin: String, reason: DeadLetter.Reason, attempts: Int, error: String, eventID: UUID?,
        handler: String?
    ) async -> Outcome {
        let now = Timestamp.now()
        let letter = DeadLetter(
            origin: origin, payload: String(decoding: payload, as: UTF8.self), reason: reason, attempts: attempts,
            firstFailedAt: now, lastFailedAt: now, lastError: error, eventId: eventID, handler: handler)
        guard await marks.deadLetter(letter) else {
            // Nowhere to keep it: keep the message instead.
            return .nak(delay: backoff.delay(afterFailure: attempts))
        }
        metrics.deadLetters(reason).increment()
        return .term
    }
}
