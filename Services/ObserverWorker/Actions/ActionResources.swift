import Contracts
import Delivery
import Foundation
import JobQueue
import Logging
import Runtime
import Synchronization

/// The shared clients actions are built with.
struct ActionResources: Sendable {
    var http: HTTPDelivery
    var smtp: SMTPClient?
    var smtpFrom: String
    var jobQueue: JobQueue?
    var jobs: JobsConfiguration
    var search: (any SearchIndex)?
    var searchIndexName: String
}
