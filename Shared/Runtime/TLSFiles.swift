import Contracts
import Foundation

/// TLS files of a client: `tls_ca_file`, `tls_cert_file`, `tls_key_file`. Nil when TLS is off
/// (no key set and not `enabled` by the URL scheme).
public struct TLSFiles: Sendable, Hashable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    init?(_ scope: ConfigScope, enabled: Bool) throws(ConfigError) {
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
