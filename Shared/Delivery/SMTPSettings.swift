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
