import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

/// One SMTP connection: commands and their replies in order.
final class SMTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPReplyHandler>
    let settings: SMTPSettings

    private init(channel: any Channel, handler: NIOLoopBound<SMTPReplyHandler>, settings: SMTPSettings) {
        self.channel = channel
        self.handler = handler
        self.settings = settings
    }

    static func tlsContext(_ settings: SMTPSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            configuration.additionalTrustRoots = [.file(caFile)]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Made on the channel's event loop (the handler is not Sendable).
    static func tlsHandler(_ context: NIOSSLContext, _ settings: SMTPSettings) throws -> NIOSSLClientHandler {
        let isIP = settings.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        return try NIOSSLClientHandler(context: context, serverHostname: isIP ? nil : settings.host)
    }

    static func connect(settings: SMTPSettings, group: any EventLoopGroup) async throws -> SMTPConnection {
        let tls = settings.security == .tls ? try tlsContext(settings) : nil
        // Kept from the initializer: a server that talks and hangs up at once has already had
        // the handler removed from the pipeline by the time `connect` returns.
        let installed = NIOLockedValueBox<NIOLoopBound<SMTPReplyHandler>?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tlsHandler(tls, settings)) }
                    let handler = SMTPReplyHandler()
                    try channel.pipeline.syncOperations.addHandler(handler)
                    installed.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: settings.host, port: settings.port).get()
        guard let handler = installed.withLockedValue({ $0 }) else {
            throw DeliveryError(.retryable, "SMTP connection closed")
        }
        return SMTPConnection(channel: channel, handler: handler, settings: settings)
    }

    /// The next reply (the greeting).
    func reply() async throws -> SMTPReply {
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        channel.eventLoop.execute { self.handler.value.expect(promise) }
        return try await promise.futureResult.get()
    }

    func command(_ line: String, redacted: String? = nil) async throws -> SMTPReply {
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let buffer = ByteBuffer(string: line + "\r\n")
        channel.eventLoop.execute {
            self.handler.value.expect(promise)
            self.channel.writeAndFlush(buffer).whenFailure { promise.fail($0) }
        }
        return try await promise.futureResult.get()
    }

    /// Puts TLS under the reply handler (after the server's 220 to STARTTLS).
    func startTLS() async throws {
        let context = try Self.tlsContext(settings)
        let settings = self.settings
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(try Self.tlsHandler(context, settings), position: .first)
        }.get()
    }

    func close() { channel.close(promise: nil) }
}
