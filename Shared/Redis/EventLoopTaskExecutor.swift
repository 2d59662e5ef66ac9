import NIOCore

/// A `TaskExecutor` that runs jobs on one SwiftNIO event loop. A task that prefers it
/// (`withTaskExecutorPreference`) and talks to a client on the same loop sends and is resumed
/// on that thread: no hop to Swift's cooperative pool and back per round trip, and no queueing
/// behind the pool's other work.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
