import Contracts
import Delivery
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

/// An action of an observer. `perform` returns when the effect happened, within `timeout` (each
/// action enforces its own: HTTP and SMTP deadlines, a guarded query for the audit index); it throws
/// a ``DeliveryError`` saying whether retrying can help (any other error is retried).
protocol ObserverAction: Sendable {
    var kind: String { get }
    /// `<observer>#<index>`: names the action in done marks, idempotency keys and metrics.
    var key: String { get }
    /// What the circuit breaker guards: one breaker per endpoint (URL host, SMTP relay, …).
    var endpoint: String { get }
    var timeout: Duration { get }
    /// Optional: how long a success is remembered for an identical rendered request (result cache).
    var cacheTTL: Duration? { get }
    /// The identity of the rendered request for the result cache, when the action has one.
    func cacheKey(_ input: ActionInput) -> String?
    func perform(_ input: ActionInput) async throws
    /// Whether the pipeline enforces `timeout` itself (a second after it), in case the call does
    /// not keep its own deadline. False only for actions without I/O.
    var needsWatchdog: Bool { get }
    /// Whether the action reads the event's `before`, `after` or `changes` (false lets the worker
    /// skip building them).
    var readsRows: Bool { get }
    /// The server the action reaches, for the start-up TLS report; nil for none.
    var link: ServerLink? { get }
    /// What the action would send for `input`, without sending it (`debug-event`, replay dry runs):
    /// where to, and the rendered request or message. Secrets in URLs are not shown.
    func preview(_ input: ActionInput) -> String
}

extension ObserverAction {
    var link: ServerLink? { nil }
    var needsWatchdog: Bool { true }
    var readsRows: Bool { true }
    var cacheTTL: Duration? { nil }
    func cacheKey(_ input: ActionInput) -> String? { nil }
}
