import Contracts

/// A stream's configuration, applied idempotently by ``JetStream/ensureStream(_:)``.
public struct StreamConfiguration: Sendable, Hashable {
    public var name: String
    public var subjects: [String]
    public var storage: StorageKind
    public var maxAge: Duration
    public var duplicateWindow: Duration
    public var replicas: Int
    public var maxBytes: Int64
    /// -1: unlimited. With `maxBytes` or `maxMessages` set, a full stream refuses new messages
    /// (discard-new) instead of dropping its oldest, which may not have been consumed yet.
    public var maxMessages: Int64

    public init(
        name: String, subjects: [String], storage: StorageKind = .file, maxAge: Duration = .seconds(7 * 86_400),
        duplicateWindow: Duration = .seconds(300), replicas: Int = 1, maxBytes: Int64 = -1, maxMessages: Int64 = -1
    ) {
        self.maxMessages = maxMessages
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.maxAge = maxAge
        self.duplicateWindow = duplicateWindow
        self.replicas = replicas
        self.maxBytes = maxBytes
    }
}
