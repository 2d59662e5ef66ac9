import Contracts
import Delivery
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

/// One event, as the actions see it. The template context is built on first use (only actions
/// with templates need it).
struct ActionInput: Sendable {
    let event: EntityEvent
    let payload: [UInt8]
    private let workerLogger: Logger
    private let lazyContext: LazyTemplateContext

    init(event: EntityEvent, payload: [UInt8], logger: Logger) {
        self.event = event
        self.payload = payload
        self.workerLogger = logger
        lazyContext = LazyTemplateContext(event: event, payload: payload)
    }

    /// The worker's logger with the event's id and entity as metadata. Built on use: setting
    /// metadata re-renders a stream log handler's metadata, too costly per event when nothing logs.
    var logger: Logger { workerLogger.for(event) }

    var logLevel: Logger.Level { workerLogger.logLevel }

    var context: TemplateContext { lazyContext.value }
}
