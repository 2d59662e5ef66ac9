import Contracts
import Delivery
import Logging
import NATS
import NIOCore
import NIOPosix
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// Creates or updates the JetStream stream at start-up, retrying with backoff until NATS
/// answers; ready once the stream exists. Then waits for shutdown.
public final class StreamProvisioner: Service, Sendable {
    private let jetStream: JetStream
    private let configuration: StreamConfiguration
    private let logger: Logger
    private let done = AsyncFlag()

    public init(jetStream: JetStream, configuration: StreamConfiguration, logger: Logger) {
        self.jetStream = jetStream
        self.configuration = configuration
        self.logger = logger
    }

    public var readiness: ReadinessCheck {
        ReadinessCheck("stream") { [done] in done.isSet }
    }

    public func run() async throws {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let info = try await jetStream.ensureStream(configuration)
                logger.info(
                    "stream ready",
                    metadata: ["nats.stream": "\(info.name)", "nats.stream.messages": "\(info.messages)"])
                done.set()
                break
            } catch {
                logger.warning("stream not provisioned yet, retrying", metadata: ["error": "\(error)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(5))
            }
        }
        try? await gracefulShutdown()
    }
}
