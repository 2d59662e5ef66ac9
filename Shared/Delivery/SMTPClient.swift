import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

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
