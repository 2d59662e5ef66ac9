import Synchronization

/// Runs a set of checks for many callers: every caller within `maxAge` of the last run's end, or
/// while a run is in flight, gets that run's answers. A storm of `/health/ready` requests costs
/// the servers behind the checks at most one probe per `maxAge`.
public final class SharedProbe: Sendable {
    public let checks: [ReadinessCheck]
    public let maxAge: Duration

    private struct Run {
        let id: UInt64
        let task: Task<[Bool], Never>
        var finishedAt: ContinuousClock.Instant?
    }

    private let current = Mutex<Run?>(nil)
    private let runs = Atomic<UInt64>(0)

    public init(_ checks: [ReadinessCheck], maxAge: Duration = .seconds(1)) {
        self.checks = checks
        self.maxAge = maxAge
    }

    /// How many times the checks ran.
    public var runCount: UInt64 { runs.load(ordering: .relaxed) }

    /// Each check's name and answer, in order.
    public func results() async -> [(String, Bool)] {
        let now = ContinuousClock.now
        let task = current.withLock { run -> Task<[Bool], Never> in
            if let existing = run, existing.finishedAt.map({ now - $0 < maxAge }) ?? true { return existing.task }
            let id = runs.add(1, ordering: .relaxed).newValue
            let checks = self.checks
            let task = Task { [weak self] in
                var answers: [Bool] = []
                for check in checks { answers.append(await check.check()) }
                self?.finished(id)
                return answers
            }
            run = Run(id: id, task: task)
            return task
        }
        return zip(checks.map(\.name), await task.value).map { ($0, $1) }
    }

    private func finished(_ id: UInt64) {
        current.withLock { run in
            if run?.id == id { run?.finishedAt = .now }
        }
    }
}
