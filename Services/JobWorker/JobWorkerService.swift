import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// The job-worker loop. A `Service`: runs until graceful shutdown, then stops fetching, lets
/// running jobs finish for `shutdownGrace`, and puts the rest back on their queue (no attempt
/// counted).
public final class JobWorkerService: Service, Sendable {
    let queue: JobQueue
    let reader: RedisClient
    let settings: JobWorkerSettings
    let handlers: [String: any JobHandler]
    let logger: Logger
    let metrics: JobMetrics
    private let slots: WorkSlots
    /// Entry ids being run, per queue, for heartbeats.
    private let running = Mutex([String: Set<String>]())
    private let stopping = Atomic(false)

    public init(
        queue: JobQueue, reader: RedisClient, settings: JobWorkerSettings, handlers: [any JobHandler],
        logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.queue = queue
        self.reader = reader
        self.settings = settings
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }, uniquingKeysWith: { _, last in last })
        var logger = logger
        logger[metadataKey: "job.consumer"] = "\(settings.consumer)"
        self.logger = logger
        self.metrics = JobMetrics(factory: metricsFactory)
        self.slots = WorkSlots(settings.concurrency)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.maintain() }
                group.addTask { await self.heartbeats() }
                // Returns after the running jobs finished or were put back; the heartbeats go on
                // until then.
                await self.fetchLoop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.slots.wake()
        }
        reader.close()
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Fetches as many jobs as there are free slots and runs each in its own task.
    private func fetchLoop() async {
        var failures = 0
        var prepared = false
        while !self.isStopping, !Task.isCancelled {
            do {
                if !prepared {
                    try await self.queue.prepare(queues: self.settings.queues)
                    prepared = true
                }
                let free = await self.slots.acquireAvailable()
                if free == 0 || self.isStopping {
                    self.slots.release(free)
                    break
                }
                let fetched: [FetchedJob]
                do {
                    fetched = try await self.queue.fetch(
                        queues: self.settings.queues, consumer: self.settings.consumer, count: free,
                        block: .seconds(1), using: self.reader)
                } catch {
                    self.slots.release(free)
                    throw error
                }
                self.slots.release(free - fetched.count)
                failures = 0
                await self.startAll(fetched)
            } catch {
                failures += 1
                let delay = Duration.milliseconds(min(5000, 100 << min(failures, 6)))
                self.logger.warning(
                    "fetching jobs failed, retrying", metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
        await self.drain()
        // Leave the group: each restart would otherwise add a consumer name to `XINFO CONSUMERS`
        // for good. Only when nothing is pending under this name (a job still held stays
        // reclaimable; the periodic cleanup removes the name once it is reclaimed).
        for name in settings.queues {
            do {
                try await queue.removeIdleConsumers(name, idle: .zero, only: settings.consumer)
            } catch {
                logger.notice(
                    "could not remove this worker's consumer from the group", metadata: ["error": "\(error)"])
                break
            }
        }
    }

    /// Running jobs, each in its own task, so shutdown can wait for them and cancel them after the
    /// grace period.
    private let inFlight = Mutex([UUID: Task<Void, Never>]())

    /// Jobs being run (the `fraiseql_job_running` gauge): not the slots the fetch loop holds
    /// while it waits for jobs, which made the gauge read `concurrency` on an idle worker.
    private var runningCount: Int { running.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    private func startAll(_ fetched: [FetchedJob]) async {
        for job in fetched {
            let token = UUID()
            running.withLock { _ = $0[job.queue, default: []].insert(job.entryID) }
            metrics.running.record(runningCount)
            let task = Task {
                await self.process(job)
                self.running.withLock { _ = $0[job.queue]?.remove(job.entryID) }
                self.inFlight.withLock { _ = $0.removeValue(forKey: token) }
                self.slots.release(1)
                self.metrics.running.record(self.runningCount)
            }
            inFlight.withLock { $0[token] = task }
        }
    }

    /// Shutdown: wait up to the grace period for running jobs, then cancel the rest (they requeue themselves).
    private func drain() async {
        let deadline = ContinuousClock.now + settings.shutdownGrace
        while ContinuousClock.now < deadline, !inFlight.withLock({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = inFlight.withLock { Array($0.values) }
        if !remaining.isEmpty {
            logger.notice("returning unfinished jobs to their queue", metadata: ["jobs": "\(remaining.count)"])
        }
        for task in remaining { task.cancel() }
        for task in remaining { await task.value }
    }

    // MARK: One job

    func process(_ fetched: FetchedJob) async {
        let job: Job
        switch fetched.job {
        case .failure(let error):
            metrics.failed("unknown", "undecodable").increment()
            await deadLetter(fetched, reason: .undecodable, attempts: 0, error: error.description, handler: nil)
            return
        case .success(let decoded):
            job = decoded
        }
        var jobLogger = self.logger
        jobLogger[metadataKey: "job.id"] = "\(job.id.uuidString.lowercased())"
        jobLogger[metadataKey: "job.kind"] = "\(job.kind)"
        jobLogger[metadataKey: "job.queue"] = "\(fetched.queue)"
        let logger = jobLogger
        guard let handler = handlers[job.kind] else {
            metrics.failed(job.kind, "unknown_kind").increment()
            let known = handlers.keys.sorted().joined(separator: ", ")
            await deadLetter(
                fetched, reason: .permanentError, attempts: job.attempt + 1,
                error: "unknown job kind '\(job.kind)' (this worker runs: \(known))", handler: job.kind, job: job)
            return
        }
        let timeout = job.timeoutMilliseconds.map { Duration.milliseconds($0) } ?? settings.jobTimeout
        let started = ContinuousClock.now
        do {
            try await withTimeout(timeout) { try await handler.run(job, logger: logger) }
            metrics.duration(job.kind).record(ContinuousClock.now - started)
            metrics.executed(job.kind).increment()
            await persist("complete", logger) { try await self.queue.complete(fetched) }
        } catch {
            metrics.duration(job.kind).record(ContinuousClock.now - started)
            if Task.isCancelled, isStopping {
                // Shutdown cut the job short: back to the queue, not counted as an attempt.
                await persist("requeue", logger) { try await self.queue.requeue(fetched, job: job) }
                return
            }
            await failed(fetched, job: job, error: error, logger: logger)
        }
    }

    private func failed(_ fetched: FetchedJob, job original: Job, error: any Error, logger: Logger) async {
        var job = original
        let now = Timestamp.now()
        job.attempt += 1
        job.firstFailedAt = job.firstFailedAt ?? now
        let message = (error as? DeliveryError)?.message ?? "\(error)"
        job.lastError = message
        let delivery = error as? DeliveryError
        if delivery?.isPermanent == true {
            metrics.failed(job.kind, "permanent").increment()
            logger.warning("job failed permanently", metadata: ["error": "\(message)"])
            await deadLetter(
                fetched, reason: .permanentError, attempts: job.attempt, error: message, handler: job.kind, job: job)
        } else if job.attempt >= job.maxAttempts {
            metrics.failed(job.kind, "exhausted").increment()
            logger.warning(
                "job failed, no attempts left", metadata: ["error": "\(message)", "job.attempt": "\(job.attempt)"])
            await deadLetter(
                fetched, reason: .retriesExhausted, attempts: job.attempt, error: message, handler: job.kind, job: job)
        } else {
            metrics.failed(job.kind, "retry").increment()
            metrics.retried(job.kind).increment()
            var delay = job.backoff.delay(afterFailure: job.attempt)
            if let retryAfter = delivery?.retryAfter, retryAfter > delay { delay = retryAfter }
            logger.info(
                "job failed, retrying",
                metadata: ["error": "\(message)", "job.attempt": "\(job.attempt)", "retry.in": "\(delay)"])
            await persist("schedule retry", logger) {
                try await self.queue.scheduleRetry(fetched, job: job, delay: delay)
            }
        }
    }

    private func deadLetter(
        _ fetched: FetchedJob, reason: DeadLetter.Reason, attempts: Int, error: String, handler: String?,
        job: Job? = nil
    ) async {
        let now = Timestamp.now()
        let letter = DeadLetter(
            origin: "jobs:\(fetched.queue)", payload: job.map { JobQueue.encode($0) } ?? fetched.raw, reason: reason,
            attempts: attempts, firstFailedAt: job?.firstFailedAt ?? now, lastFailedAt: now, lastError: error,
            eventId: job?.sourceEventId, handler: handler)
        await persist("dead-letter", logger) { try await self.queue.deadLetter(fetched, letter: letter) }
    }

    /// Runs a queue update, retrying while Redis is unreachable: the job's outcome is known and
    /// must not be lost. Gives up after the visibility timeout, when another worker will have
    /// reclaimed the job anyway.
    private func persist<T>(_ what: String, _ logger: Logger, _ body: () async throws -> T) async {
        let deadline = ContinuousClock.now + settings.visibilityTimeout
        var delay = Duration.milliseconds(50)
        while true {
            do {
                _ = try await body()
                return
            } catch {
                guard ContinuousClock.now + delay < deadline else {
                    logger.error(
                        "could not \(what) the job; it will be reclaimed and run again",
                        metadata: ["error": "\(error)"])
                    return
                }
                logger.warning("could not \(what) the job, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    // MARK: Scheduler, reclaimer, heartbeats, gauges

    private func maintain() async {
        let clock = ContinuousClock()
        var nextReclaim = clock.now
        var nextGauges = clock.now
        var nextCleanup = clock.now + .seconds(60)
        while !isStopping, !Task.isCancelled {
            do {
                for name in settings.queues {
                    while try await queue.promoteDue(name) == 1000 {}
                }
                if clock.now >= nextReclaim {
                    nextReclaim = clock.now + max(settings.visibilityTimeout / 4, .milliseconds(200))
                    for name in settings.queues { try await reclaim(name) }
                }
                if clock.now >= nextCleanup {
                    nextCleanup = clock.now + .seconds(60)
                    for name in settings.queues {
                        let removed = try await queue.removeIdleConsumers(
                            name, idle: settings.consumerCleanupIdle, except: settings.consumer)
                        if !removed.isEmpty {
                            logger.info(
                                "removed idle consumers with nothing pending from the group",
                                metadata: ["job.queue": "\(name)", "consumers": "\(removed.joined(separator: ", "))"])
                        }
                    }
                }
                if clock.now >= nextGauges {
                    nextGauges = clock.now + .seconds(5)
                    for name in settings.queues {
                        let depth = try await queue.depth(name)
                        metrics.gauge("queue_depth", name).record(depth.queued)
                        metrics.gauge("delayed", name).record(depth.delayed)
                        metrics.gauge("dlq_size", name).record(depth.deadLetters)
                    }
                }
            } catch let error as RedisError where error.message.hasPrefix("NOGROUP") {
                // Before the first fetch created the queues' streams and group (or after Redis
                // lost them): create them, nothing else is wrong.
                logger.debug("job queues not set up yet, creating them", metadata: ["error": "\(error)"])
                try? await queue.prepare(queues: settings.queues)
            } catch {
                logger.warning("job scheduler pass failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.schedulerInterval)
        }
    }

    /// Extends the claims of the running jobs every third of the visibility timeout, in a task of
    /// its own: a scheduler or reclaim pass that fails or hangs cannot let a running job be
    /// reclaimed (and run twice). A job another worker already reclaimed is not taken back.
    private func heartbeats() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.visibilityTimeout / 3)
            let snapshot = running.withLock { $0 }
            for (name, ids) in snapshot where !ids.isEmpty {
                do {
                    let lost = try await queue.heartbeat(name, consumer: settings.consumer, entryIDs: Array(ids))
                    for id in lost where running.withLock({ $0[name]?.contains(id) ?? false }) {
                        logger.warning(
                            "a running job was reclaimed by another worker (this worker was silent past the visibility timeout); it may run twice",
                            metadata: ["job.queue": "\(name)", "job.entry": "\(id)"])
                    }
                } catch {
                    logger.warning(
                        "could not extend the claims of running jobs",
                        metadata: ["job.queue": "\(name)", "error": "\(error)"])
                }
            }
        }
    }

    /// Jobs idle past the visibility timeout belong to a dead worker: count that attempt, then
    /// requeue them or, out of attempts, dead-letter them.
    private func reclaim(_ name: String) async throws {
        let claimed = try await queue.reclaim(
            name, consumer: settings.consumer, visibilityTimeout: settings.visibilityTimeout)
        for fetched in claimed {
            metrics.reclaimed(name).increment()
            guard case .success(var job) = fetched.job else {
                await process(fetched)
                continue
            }
            let message = "worker stopped responding (visibility timeout \(settings.visibilityTimeout) exceeded)"
            job.attempt += 1
            job.firstFailedAt = job.firstFailedAt ?? .now()
            job.lastError = message
            logger.notice(
                "reclaimed a job from a silent worker",
                metadata: ["job.id": "\(job.id.uuidString.lowercased())", "job.attempt": "\(job.attempt)"])
            if job.attempt >= job.maxAttempts {
                metrics.failed(job.kind, "exhausted").increment()
                await deadLetter(
                    fetched, reason: .retriesExhausted, attempts: job.attempt, error: message, handler: job.kind,
                    job: job)
            } else {
                try await queue.requeue(fetched, job: job)
            }
        }
    }
}
