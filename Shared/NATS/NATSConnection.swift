import CNATS
/// NATS: the fleet's NATS and JetStream client, over the NATS C library (libnats).
///
/// This module is the only importer of `CNATS`. It owns every C pointer: each handle lives in a
/// `final class` that frees it in `deinit`, and no C type appears in the public API. Blocking C
/// calls (connect, synchronous publish, fetch, JetStream API requests) run on a dedicated
/// `NIOThreadPool`, never on Swift's cooperative pool. C callbacks reach Swift through
/// unretained/retained context pointers and lock-protected state.
import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// A connection to a NATS server (or cluster), reconnecting by itself.
///
/// `@unchecked Sendable`: the `natsConnection` handle is thread-safe in libnats; this class only
/// stores it (immutable) and destroys it in `deinit`, after every user of it has released it.
public final class NATSConnection: @unchecked Sendable {
    let handle: OpaquePointer
    public let configuration: NATSClientConfiguration
    private let events: ConnectionEvents

    private init(handle: OpaquePointer, configuration: NATSClientConfiguration, events: ConnectionEvents) {
        self.handle = handle
        self.configuration = configuration
        self.events = events
    }

    deinit {
        events.closing.store(true, ordering: .releasing)
        natsConnection_Destroy(handle)
    }

    /// Connects. With `retryOnFailedConnect` the call returns at once even when no server is up yet.
    public static func connect(
        _ configuration: NATSClientConfiguration, logger: Logger = Logger(label: "fraiseql.nats")
    ) async throws -> NATSConnection {
        try await Blocking.run { () throws -> NATSConnection in
            var options: OpaquePointer?
            try NATSError.check(natsOptions_Create(&options), "options")
            defer { natsOptions_Destroy(options) }
            // A list goes in as separate servers: libnats (3.4) drops the user:password of the
            // URLs when it splits a comma-separated list itself (authorization violation).
            let servers = configuration.url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            if servers.count > 1 {
                let copies = servers.map { UnsafePointer(strdup($0)) }
                defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
                var list: [UnsafePointer<CChar>?] = copies
                try NATSError.check(natsOptions_SetServers(options, &list, Int32(list.count)), "set servers")
            } else {
                try NATSError.check(natsOptions_SetURL(options, configuration.url), "set url")
            }
            try NATSError.check(natsOptions_SetName(options, configuration.name), "set name")
            try NATSError.check(
                natsOptions_SetTimeout(options, configuration.connectTimeout.milliseconds), "set timeout")
            try NATSError.check(
                natsOptions_SetMaxReconnect(options, Int32(configuration.maxReconnects)), "set reconnect")
            try NATSError.check(
                natsOptions_SetReconnectWait(options, configuration.reconnectWait.milliseconds), "set reconnect wait")
            try NATSError.check(
                natsOptions_SetReconnectBufSize(options, Int32(configuration.reconnectBufferBytes)), "set buffer")
            try NATSError.check(
                natsOptions_SetPingInterval(options, configuration.pingInterval.milliseconds), "set ping interval")
            if let tls = configuration.tls {
                try NATSError.check(natsOptions_SetSecure(options, true), "enable TLS")
                if let caFile = tls.caFile {
                    try NATSError.check(natsOptions_LoadCATrustedCertificates(options, caFile), "load \(caFile)")
                }
                if let certificate = tls.certificateFile, let key = tls.keyFile {
                    try NATSError.check(
                        natsOptions_LoadCertificatesChain(options, certificate, key), "load \(certificate)")
                }
            }
            // With a connected callback the first connect is asynchronous: the call returns
            // NATS_NOT_YET_CONNECTED at once and the library keeps trying in the background.
            try NATSError.check(
                natsOptions_SetRetryOnFailedConnect(
                    options, configuration.retryOnFailedConnect, configuration.retryOnFailedConnect ? { _, _ in } : nil,
                    nil),
                "set retry")

            let eventsObject = ConnectionEvents(logger: logger, name: configuration.name)
            let events = Unmanaged.passRetained(eventsObject)
            let context = events.toOpaque()
            natsOptions_SetDisconnectedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                    guard !events.closing.load(ordering: .acquiring) else { return }
                    events.logger.warning(
                        "NATS connection lost, reconnecting", metadata: ["nats.client": "\(events.name)"])
                }, context)
            natsOptions_SetReconnectedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                    events.reconnects.add(1, ordering: .releasing)
                    events.logger.info("NATS connection restored", metadata: ["nats.client": "\(events.name)"])
                }, context)
            natsOptions_SetClosedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure)
                    if !events.takeUnretainedValue().closing.load(ordering: .acquiring) {
                        events.takeUnretainedValue().logger.error(
                            "NATS connection closed for good (the library gave up, e.g. authorization refused): /health/live now fails so the service is restarted"
                        )
                    }
                    events.release()
                }, context)

            var connection: OpaquePointer?
            let status = natsConnection_Connect(&connection, options)
            guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let connection else {
                events.release()
                throw NATSError(
                    status: status, operation: "connect to \(NATSClientConfiguration.redacted(configuration.url))")
            }
            return NATSConnection(handle: connection, configuration: configuration, events: eventsObject)
        }
    }

    /// Closes the connection (pending publishes are flushed by the library); later calls fail.
    public func close() {
        events.closing.store(true, ordering: .releasing)
        natsConnection_Close(handle)
    }

    /// Whether the library closed the connection for good (it no longer reconnects).
    public var isClosed: Bool {
        natsConnection_Status(handle) == NATS_CONN_STATUS_CLOSED
    }

    /// How many times the connection was restored since it was made.
    public var reconnects: Int { events.reconnects.load(ordering: .acquiring) }

    /// The largest message (headers and payload) the server takes, from its INFO (0 before
    /// the first connect).
    public var maxPayload: Int { Int(natsConnection_GetMaxPayload(handle)) }

    /// Whether the connection is currently up (false while reconnecting).
    public var isConnected: Bool {
        natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED
    }

    /// Round trip to the server: every publish made before it has been processed.
    public func flush(timeout: Duration = .seconds(5)) async throws {
        try await Blocking.run { [self] () throws in
            try NATSError.check(natsConnection_FlushTimeout(handle, timeout.milliseconds), "flush")
        }
    }

    /// A JetStream context on this connection.
    public func jetStream() throws -> JetStream {
        try JetStream(connection: self)
    }

    /// Plain (non-JetStream) publish; buffered, returns at once.
    public func publish(subject: String, payload: [UInt8]) throws {
        try payload.withUnsafeBytes { bytes throws in
            try NATSError.check(
                natsConnection_Publish(handle, subject, bytes.baseAddress, Int32(bytes.count)), "publish")
        }
    }

    /// Plain publish of a short text, from the library's own threads too (no task hop); buffered.
    func publish(subject: String, text: String, reply: String? = nil, operation: String) throws(NATSError) {
        let status =
            if let reply {
                natsConnection_PublishRequestString(handle, subject, reply, text)
            } else {
                natsConnection_PublishString(handle, subject, text)
            }
        try NATSError.check(status, operation)
    }

    /// Request and reply: waits for the answer (its body is dropped).
    func request(subject: String, text: String, timeout: Duration) async throws {
        try await Blocking.run { [self] () throws in
            var reply: OpaquePointer?
            try NATSError.check(
                natsConnection_RequestString(&reply, handle, subject, text, timeout.milliseconds), "request \(subject)")
            natsMsg_Destroy(reply)
        }
    }
}
