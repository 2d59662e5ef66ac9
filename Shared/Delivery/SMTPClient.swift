import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

/// How to reach the SMTP server.
public struct SMTPSettings: Sendable {
    public enum Security: String, Sendable, CaseIterable {
        /// Plain text (a local relay).
        case none
        /// Upgrade with `STARTTLS`; refuse to send when the server does not offer it.
        case startTLS = "starttls"
        /// TLS from the first byte (port 465).
        case tls
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// Name sent in `EHLO`.
    public var heloName: String
    public var timeout: Duration
    /// A PEM file of extra trusted CA certificates (a private relay's CA); the system roots otherwise.
    public var caFile: String?

    public init(
        host: String, port: Int, security: Security = .startTLS, username: String? = nil, password: String? = nil,
        heloName: String = "localhost", timeout: Duration = .seconds(30), caFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.heloName = heloName
        self.timeout = timeout
        self.caFile = caFile
    }
}

/// One e-mail: plain-text UTF-8 body.
public struct EmailMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// `Message-ID` without angle brackets: the idempotency key a receiver can deduplicate on.
    public var messageID: String
    public var extraHeaders: [(String, String)]

    public init(
        from: String, to: [String], subject: String, body: String, messageID: String,
        extraHeaders: [(String, String)] = []
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.extraHeaders = extraHeaders
    }

    /// The RFC 5322 message: headers, blank line, body with CRLF line ends and dot-stuffing
    /// applied by the sender.
    public func rendered(date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var headers: [(String, String)] = [
            ("From", from), ("To", to.joined(separator: ", ")), ("Subject", Self.encodeHeader(subject)),
            ("Date", formatter.string(from: date)), ("Message-ID", "<\(messageID)>"), ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit"),
        ]
        headers += extraHeaders.map { ($0.0, Self.encodeHeader($0.1)) }
        let head = headers.map { "\($0.0): \(Self.singleLine($0.1))" }.joined(separator: "\r\n")
        return head + "\r\n\r\n" + Self.crlfLines(body)
    }

    /// Every line break (CR LF, a lone LF, a lone CR) as CR LF: a lone CR or LF in a body is how
    /// SMTP smuggling hides a second message behind `<LF>.<CR><LF>` from servers that read it
    /// differently.
    static func crlfLines(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        var previousCR = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\r"):
                bytes += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
                previousCR = true
                continue
            case UInt8(ascii: "\n") where previousCR: break  // the LF of a CR LF already written
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
            default: bytes.append(byte)
            }
            previousCR = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Header values may not contain line breaks (header injection).
    static func singleLine(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047 encoded-word for non-ASCII header text.
    static func encodeHeader(_ value: String) -> String {
        guard !value.allSatisfy(\.isASCII) else { return value }
        return "=?UTF-8?B?\(Data(singleLine(value).utf8).base64EncodedString())?="
    }
}

/// A small SMTP client on SwiftNIO: EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA, QUIT. One
/// connection per message. Failures are classified like HTTP: connection errors, timeouts and 4xx
/// replies are retryable, 5xx replies permanent.
public struct SMTPClient: Sendable {
    public let settings: SMTPSettings
    let group: any EventLoopGroup

    public init(settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = group
    }

    public func send(_ message: EmailMessage) async throws(DeliveryError) {
        guard !message.to.isEmpty else { throw DeliveryError(.permanent, "e-mail without recipients") }
        // Errors name recipients by position, never by address: they are logged and kept in
        // dead letters, and addresses are personal data.
        if !Self.isAddress(message.from) { throw DeliveryError(.permanent, "the sender is not an e-mail address") }
        for (index, address) in message.to.enumerated() where !Self.isAddress(address) {
            throw DeliveryError(.permanent, "recipient \(index + 1) of \(message.to.count) is not an e-mail address")
        }
        if settings.username != nil, settings.security == .none, !IPAddress.isLoopback(host: settings.host) {
            throw DeliveryError(
                .permanent,
                "refusing to send SMTP credentials unencrypted to \(settings.host) (security = \"none\" is for a relay on loopback; use starttls or tls)"
            )
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.transaction(message) }
                group.addTask {
                    try await Task.sleep(for: settings.timeout)
                    throw DeliveryError(.retryable, "SMTP timed out after \(settings.timeout)")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw DeliveryError(.retryable, "SMTP \(settings.host):\(settings.port): \(error)")
        }
    }

    static func isAddress(_ text: String) -> Bool {
        guard !text.contains(where: { $0.isWhitespace || "<>,;".contains($0) }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }

    private func transaction(_ message: EmailMessage) async throws {
        let connection = try await SMTPConnection.connect(settings: settings, group: group)
        defer { connection.close() }
        // Closing the channel fails every waiting reply, so a timeout really ends the dialogue.
        try await withTaskCancellationHandler {
            try await dialogue(message, connection)
        } onCancel: {
            connection.close()
        }
    }

    private func dialogue(_ message: EmailMessage, _ connection: SMTPConnection) async throws {
        var greeting = try await connection.reply()
        try greeting.expect(220, "greeting")
        var ehlo = try await connection.command("EHLO \(settings.heloName)")
        try ehlo.expect(250, "EHLO")
        if settings.security == .startTLS {
            guard ehlo.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                throw DeliveryError(.permanent, "SMTP server does not offer STARTTLS (security = \"starttls\")")
            }
            greeting = try await connection.command("STARTTLS")
            try greeting.expect(220, "STARTTLS")
            try await connection.startTLS()
            ehlo = try await connection.command("EHLO \(settings.heloName)")
            try ehlo.expect(250, "EHLO after STARTTLS")
        }
        if let username = settings.username, let password = settings.password {
            let mechanisms = ehlo.lines.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                try (await connection.command("AUTH PLAIN \(token)", redacted: "AUTH PLAIN ***")).expect(235, "AUTH")
            } else {
                try (await connection.command("AUTH LOGIN")).expect(334, "AUTH LOGIN")
                try (await connection.command(Data(username.utf8).base64EncodedString(), redacted: "***"))
                    .expect(334, "AUTH LOGIN user")
                try (await connection.command(Data(password.utf8).base64EncodedString(), redacted: "***"))
                    .expect(235, "AUTH LOGIN password")
            }
        }
        try (await connection.command("MAIL FROM:<\(message.from)>")).expect(250, "MAIL FROM")
        for (index, recipient) in message.to.enumerated() {
            try (await connection.command("RCPT TO:<\(recipient)>"))
                .expect(250, "RCPT TO (recipient \(index + 1) of \(message.to.count))", or: 251)
        }
        try (await connection.command("DATA")).expect(354, "DATA")
        // Dot-stuffing: a line starting with "." gets another one.
        let data = message.rendered().split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        try (await connection.command(data + "\r\n.", redacted: "<message>")).expect(250, "message")
        _ = try? await connection.command("QUIT")
    }
}

/// An SMTP reply: its code and text lines.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]

    func expect(_ expected: Int, _ step: String, or alternative: Int? = nil) throws(DeliveryError) {
        guard code != expected, code != alternative else { return }
        // Relays often repeat the address in their reply: addresses are personal data.
        let reply = lines.joined(separator: " / ").replacing(/[^\s<>]+@[^\s<>]+/, with: "***")
        let text = "SMTP \(step) refused: \(code) \(reply)"
        throw DeliveryError((400..<500).contains(code) ? .retryable : .permanent, text)
    }
}

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

/// Splits the inbound bytes into replies (`250-…` continues, `250 …` ends) and completes the
/// oldest waiting promise with each.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var waiting: [EventLoopPromise<SMTPReply>] = []
    /// Replies that arrived before anyone asked for them (the greeting can beat `expect`).
    private var unclaimed: [SMTPReply] = []
    private var failure: (any Error)?
    private var pending: [UInt8] = []
    /// Bounds on what a server can make the client hold: RFC 5321 allows reply lines of 512
    /// bytes; a line, a multi-line reply or a run of unasked replies past these is an error.
    static let maxLineBytes = 4096
    static let maxReplyLines = 256
    static let maxUnclaimedReplies = 8

    func expect(_ promise: EventLoopPromise<SMTPReply>) {
        if !unclaimed.isEmpty {
            promise.succeed(unclaimed.removeFirst())
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }
    private var lines: [String] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        defer {
            if failure == nil,
                pending.count > Self.maxLineBytes || lines.count > Self.maxReplyLines
                    || unclaimed.count > Self.maxUnclaimedReplies
            {
                errorCaught(
                    context: context,
                    error: DeliveryError(
                        .retryable, "SMTP server sent a reply past the client's bounds (line, lines or unasked replies)"
                    ))
            }
        }
        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
            if end > Self.maxLineBytes {
                errorCaught(
                    context: context,
                    error: DeliveryError(.retryable, "SMTP server sent a reply line past the client's bounds"))
                return
            }
            var line = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeSubrange(...end)
            if line.hasSuffix("\r") { line.removeLast() }
            let code = Int(line.prefix(3)) ?? 0
            let separator = line.dropFirst(3).first
            lines.append(String(line.dropFirst(4)))
            if separator != "-" {
                let reply = SMTPReply(code: code, lines: lines)
                lines = []
                if waiting.isEmpty {
                    unclaimed.append(reply)
                } else {
                    waiting.removeFirst().succeed(reply)
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(DeliveryError(.retryable, "SMTP connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        failure = failure ?? error
        let promises = waiting
        waiting = []
        for promise in promises { promise.fail(error) }
    }
}
