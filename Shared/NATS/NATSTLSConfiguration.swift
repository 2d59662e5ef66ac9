import CNATS
import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// TLS settings: the server certificate is always verified.
public struct NATSTLSConfiguration: Sendable, Hashable {
    /// PEM file of the CAs to trust instead of the system's.
    public var caFile: String?
    /// Client certificate and key (PEM) for servers that verify clients.
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
