import Config
import NIOSSL

extension TLSFiles {
    /// The client TLS context: the server certificate verified (chain and host name or IP)
    /// against `caFile` or the system's CAs, with the client certificate when one is set.
    func context() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        if let certificateFile, let keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return try NIOSSLContext(configuration: tls)
    }
}
