import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Runtime
import Testing

/// A real SMTP server (Python aiosmtpd, Tests/Peers/smtp_server.py) recording what it accepts.
final class SMTPPeer: Sendable {
    let port: Int
    let output: URL
    let process: ServerProcess

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/smtp_server.py").path

    init(tls: (cert: String, key: String)? = nil, auth: String? = nil) async throws {
        port = try Stack.freePort()
        output = try Stack.temporaryDirectory().appendingPathComponent("mail.jsonl")
        var arguments = [Self.script, String(port), output.path]
        if let tls { arguments += ["--tls", tls.cert, tls.key] }
        if let auth { arguments += ["--auth", auth] }
        process = ServerProcess(executable: Stack.python, arguments: arguments)
        try await process.start(waitForPort: port)
    }

    struct Mail: Decodable {
        var from: String
        var to: [String]
        var data: String
        var tls: Bool
        var user: String?
    }

    var messages: [Mail] {
        guard let text = try? String(contentsOf: output, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Mail.self, from: Data($0.utf8)) }
    }

    func stop() { process.stop() }
}

/// A self-signed certificate for 127.0.0.1 made with openssl: (cert, key) paths.
func selfSignedCertificate() throws -> (cert: String, key: String) {
    let directory = try Stack.temporaryDirectory()
    let cert = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try ServerProcess.which("openssl"))
    process.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "openssl failed")
    return (cert, key)
}

@Suite("SMTP client and email jobs", .serialized)
struct SMTPTests {
    @Test("a plain relay receives the message with headers, UTF-8 subject, dot-stuffed body and Message-ID")
    func plain() async throws {
        let peer = try await SMTPPeer()
        defer { peer.stop() }
        let client = SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: peer.port, security: .none))
        try await client.send(
            EmailMessage(
                from: "observer@example.com", to: ["ops@example.com", "audit@example.com"],
                subject: "Order 42 paid — €99", body: "Total: 99\n.hidden line\nbye", messageID: "evt-1@fraiseql"))
        let mail = try #require(peer.messages.first)
        #expect(mail.from == "observer@example.com")
        #expect(mail.to == ["ops@example.com", "audit@example.com"])
        #expect(mail.data.contains("Message-ID: <evt-1@fraiseql>"))
        #expect(mail.data.contains("Subject: =?UTF-8?B?"))
        #expect(mail.data.contains("\n.hidden line"), "dot-stuffing is undone by the server")
        #expect(!mail.tls)
    }

    @Test("STARTTLS with a private CA and AUTH; a server certificate nobody trusts is refused")
    func startTLSAndAuth() async throws {
        let certificate = try selfSignedCertificate()
        let peer = try await SMTPPeer(tls: certificate, auth: "mailer:s3cret")
        defer { peer.stop() }
        let message = EmailMessage(
            from: "observer@example.com", to: ["ops@example.com"], subject: "hi", body: "over TLS",
            messageID: "evt-2@fraiseql")
        let trusted = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: peer.port, security: .startTLS, username: "mailer", password: "s3cret",
                caFile: certificate.cert))
        try await trusted.send(message)
        let mail = try #require(peer.messages.first)
        #expect(mail.tls && mail.user == "mailer")

        let untrusted = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: peer.port, security: .startTLS, username: "mailer", password: "s3cret"))
        await #expect(throws: DeliveryError.self) { try await untrusted.send(message) }
        let wrongPassword = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: peer.port, security: .startTLS, username: "mailer", password: "nope",
                caFile: certificate.cert))
        do {
            try await wrongPassword.send(message)
            Issue.record("a wrong password must be refused")
        } catch {
            #expect(error.isPermanent && error.message.contains("AUTH"))
        }
        #expect(peer.messages.count == 1)
    }

    @Test("4xx replies are retryable, 5xx permanent")
    func classification() async throws {
        let peer = try await SMTPPeer()
        defer { peer.stop() }
        let client = SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: peer.port, security: .none))
        func attempt(_ to: String) async -> DeliveryError? {
            do {
                try await client.send(
                    EmailMessage(from: "a@example.com", to: [to], subject: "s", body: "b", messageID: "m@x"))
                return nil
            } catch { return error }
        }
        #expect(await attempt("busy@example.com")?.class == .retryable)
        #expect(await attempt("reject@example.com")?.class == .permanent)
        #expect(await attempt("not an address")?.class == .permanent)
        #expect(peer.messages.isEmpty)
    }

    @Test("email jobs are delivered by job-worker with a Message-ID derived from the job id")
    func emailJob() async throws {
        let peer = try await SMTPPeer()
        defer { peer.stop() }
        var configuration = FleetConfiguration()
        configuration.smtp.host = "127.0.0.1"
        configuration.smtp.port = peer.port
        configuration.smtp.security = "none"
        configuration.smtp.from = "jobs@example.com"
        let worker = try InProcessWorker.start(queues: ["mail"], configuration: configuration)
        let job = Job(
            queue: "mail", kind: "email",
            payload: ["to": ["ops@example.com"], "subject": "Nightly report", "body": "All good."])
        try await worker.queue.enqueue(job)
        #expect(try await eventually { peer.messages.count == 1 })
        let mail = try #require(peer.messages.first)
        #expect(mail.from == "jobs@example.com" && mail.to == ["ops@example.com"])
        #expect(mail.data.contains("Message-ID: <job-\(job.id.uuidString.lowercased())@fraiseql>"))
        #expect(mail.data.contains("All good."))
        await worker.stop()
    }
}
