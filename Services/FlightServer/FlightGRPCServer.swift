import FleetCore
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// The gRPC server as a `Service`: serves until graceful shutdown, then stops accepting calls
/// and lets open streams end (the service group's shutdown limit cuts the rest).
final class FlightGRPCServer: Service, Sendable {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let transport: HTTP2ServerTransport.Posix
    private let listening = Atomic(false)
    private let logger: Logger

    init(configuration: FlightConfiguration, service: FlightService, logger: Logger) {
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
            let chain: [TLSConfig.CertificateSource] = [.file(path: certificate, format: .pem)]
            let privateKey = TLSConfig.PrivateKeySource.file(path: key, format: .pem)
            if let clientCA = configuration.tlsClientCAFile {
                security = .mTLS(certificateChain: chain, privateKey: privateKey) { tls in
                    tls.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
                    tls.clientCertificateVerification = .noHostnameVerification
                }
            } else {
                security = .tls(certificateChain: chain, privateKey: privateKey)
            }
        } else {
            security = .plaintext
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        // A ticket is small; record batches go the other way.
        config.rpc.maxRequestPayloadSize = 1 << 20
        transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.address.host, port: configuration.address.port),
            transportSecurity: security, config: config)
        server = GRPCServer(transport: transport, services: [service])
        self.logger = logger
    }

    /// The port the server listens on (once it does).
    var port: Int {
        get async throws { try await transport.listeningAddress.ipv4?.port ?? 0 }
    }

    var isListening: Bool { listening.load(ordering: .relaxed) }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.server.serve() }
                group.addTask {
                    let port = try await self.port
                    self.listening.store(true, ordering: .relaxed)
                    self.logger.info("flight server listening", metadata: ["flight.port": "\(port)"])
                }
            }
        } onGracefulShutdown: {
            self.server.beginGracefulShutdown()
        }
        listening.store(false, ordering: .relaxed)
    }
}
