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

public struct JobWorkerSettings: Sendable {
    public var queues: [String]
    public var concurrency: Int
    public var consumer: String
    public var visibilityTimeout: Duration
    public var jobTimeout: Duration
    public var shutdownGrace: Duration
    public var schedulerInterval: Duration
    /// Consumers of the group idle this long with nothing pending are removed (a dead worker's
    /// leftover name, once its jobs were reclaimed). Not a configuration key: 1 hour.
    public var consumerCleanupIdle: Duration = .seconds(3600)

    public init(
        queues: [String], concurrency: Int, consumer: String = JobWorkerSettings.defaultConsumerName(),
        visibilityTimeout: Duration = .seconds(60), jobTimeout: Duration = .seconds(300),
        shutdownGrace: Duration = .seconds(10), schedulerInterval: Duration = .milliseconds(100)
    ) {
        self.queues = queues
        self.concurrency = concurrency
        self.consumer = consumer
        self.visibilityTimeout = visibilityTimeout
        self.jobTimeout = jobTimeout
        self.shutdownGrace = shutdownGrace
        self.schedulerInterval = schedulerInterval
    }

    public init(_ configuration: JobsConfiguration) {
        self.init(
            queues: configuration.queues, concurrency: configuration.concurrency,
            consumer: configuration.consumer ?? Self.defaultConsumerName(),
            visibilityTimeout: configuration.visibilityTimeout, jobTimeout: configuration.jobTimeout,
            shutdownGrace: configuration.shutdownGrace, schedulerInterval: configuration.schedulerInterval)
    }

    /// `<hostname>-<pid>-<random>`: readable in `XINFO CONSUMERS`, and unique per process even
    /// where workers share a host name and a pid (host networking: containers on one node, each
    /// pid 1), which would otherwise read and reclaim as one consumer.
    public static func defaultConsumerName() -> String {
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(random)"
    }
}
