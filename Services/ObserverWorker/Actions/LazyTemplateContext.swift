import Contracts
import Delivery
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

final class LazyTemplateContext: Sendable {
    private let event: EntityEvent
    private let payload: [UInt8]
    private let built = Mutex<TemplateContext?>(nil)

    init(event: EntityEvent, payload: [UInt8]) {
        self.event = event
        self.payload = payload
    }

    var value: TemplateContext {
        built.withLock { built in
            if let built { return built }
            let context = TemplateContext(event, json: payload)
            built = context
            return context
        }
    }
}
