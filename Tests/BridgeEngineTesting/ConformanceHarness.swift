import BridgeEngine

/// What the conformance suite needs from an adapter's test setup: a fresh source over its own
/// empty change set, and ways to write to the database the way applications do.
public protocol ConformanceHarness: Sendable {
    associatedtype Source: ChangeSource

    /// A new source (its own database or namespace) for one check, with entity `item` captured.
    func makeSource(transport: String) async throws -> Source
    /// Commits one transaction that writes the rows `keys` of entity `item` (each row's image
    /// holds about `padding` extra bytes).
    func commit(_ source: Source, keys: [String], padding: Int) async throws
    /// Begins a transaction that writes `keys` and commits when the returned function is called.
    func begin(_ source: Source, keys: [String]) async throws -> LateCommit
    /// The keys of the changes set aside in the source's dead-letter place, for `transport`.
    func setAsideKeys(_ source: Source, transport: String) async throws -> [String]
    /// Makes the database's retention pass everything committed so far; false when the bridge
    /// owns retention (the source can never lose unpublished changes, and the resync check does
    /// not apply).
    func expireAll(_ source: Source) async throws -> Bool
}

/// A transaction left open, and how to commit it.
public struct LateCommit: Sendable {
    public let commit: @Sendable () async throws -> Void

    public init(commit: @escaping @Sendable () async throws -> Void) {
        self.commit = commit
    }
}

/// The harness of ``InMemoryChangeSource``: the suite run against the reference source.
public struct InMemoryHarness: ConformanceHarness {
    public init() {}

    public func makeSource(transport: String) async throws -> InMemoryChangeSource {
        InMemoryChangeSource(transport: transport)
    }

    public func commit(_ source: InMemoryChangeSource, keys: [String], padding: Int) async throws {
        source.commit(keys.map { InMemoryChangeSource.Change(key: $0, padding: padding) })
    }

    public func begin(_ source: InMemoryChangeSource, keys: [String]) async throws -> LateCommit {
        let commit = source.begin(keys.map { InMemoryChangeSource.Change(key: $0) })
        return LateCommit { commit() }
    }

    public func setAsideKeys(_ source: InMemoryChangeSource, transport: String) async throws -> [String] {
        source.setAsideKeys
    }

    public func expireAll(_ source: InMemoryChangeSource) async throws -> Bool {
        source.expireAll()
        return true
    }
}
