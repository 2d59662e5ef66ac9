import Contracts
import Foundation

/// TLS files of a client: `tls_ca_file` (PEM of the CAs to trust instead of the system's),
/// `tls_cert_file` and `tls_key_file` (a client certificate for servers that verify clients).
/// The server certificate is always verified. Read from a section, nil when TLS is off (no key
/// set and not `enabled` by the URL scheme). The NATS and Redis clients take it as is.
public struct TLSFiles: Sendable, Hashable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    public init?(_ scope: ConfigScope, enabled: Bool) throws(ConfigError) {
        caFile = try scope.optionalString("tls_ca_file")
        certificateFile = try scope.optionalString("tls_cert_file")
        keyFile = try scope.optionalString("tls_key_file")
        if (certificateFile == nil) != (keyFile == nil) {
            throw scope.error(
                certificateFile == nil ? "tls_cert_file" : "tls_key_file", "tls_cert_file and tls_key_file go together")
        }
        for (key, path) in [("tls_ca_file", caFile), ("tls_cert_file", certificateFile), ("tls_key_file", keyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw scope.error(key, "cannot read '\(path)'")
            }
        }
        if !enabled && caFile == nil && certificateFile == nil { return nil }
    }
}
