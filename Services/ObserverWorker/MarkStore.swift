import Contracts
import Foundation
import Logging
import Redis

/// Where the pipeline keeps dedup marks, per-action done marks, the result cache and dead letters.
///
/// Reads fail open: when the store is unreachable an event counts as not processed and its actions
/// as not done, so work is repeated, never dropped. A dead letter that cannot be stored reports
/// false, and the message is NAKed instead of terminated.
protocol MarkStore: Sendable {
    /// For each event: whether it was processed, and which of its actions are done. One round trip.
    func check(_ events: [MarkCheck]) async -> [MarkState]
    /// Records, for each write, its done actions and, when `processed`, the whole event. One round
    /// trip. False when the store could not record them.
    @discardableResult
    func mark(_ writes: [MarkWrite]) async -> Bool
    func cached(_ key: String) async -> Bool
    func cache(_ key: String, ttl: Duration) async
    func deadLetter(_ letter: DeadLetter) async -> Bool
}

extension MarkStore {
    /// Records one event's done actions and, when `processed`, the whole event.
    @discardableResult
    func mark(_ event: EntityEvent, done actionKeys: [String], processed: Bool) async -> Bool {
        await mark([MarkWrite(event, done: actionKeys, processed: processed)])
    }
}
