import Contracts
import Foundation
import Redis

public struct QueueDepth: Sendable, Hashable {
    /// Entries in the stream: ready plus running.
    public var queued: Int64
    /// Fetched and not yet acknowledged.
    public var running: Int64
    public var delayed: Int64
    public var deadLetters: Int64

    public init(queued: Int64, running: Int64, delayed: Int64, deadLetters: Int64) {
        self.queued = queued
        self.running = running
        self.delayed = delayed
        self.deadLetters = deadLetters
    }
}
