import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 that records every request and answers as `respond` says:
/// the webhook / HTTP-job receiver of the tests.
final class Receiver: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Lower-cased names.
        var headers: [String: String]
        var body: [UInt8]
        /// Milliseconds since the epoch when the request arrived.
        var receivedAt: Int64
        /// The status the receiver answered with; nil while the reply is pending.
        var status: Int? = nil
        /// Answered 2xx: the receiver accepted it (an effect happened).
        var accepted: Bool { (200..<300).contains(status ?? 0) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Reply: Sendable {
        var status: Int = 200
        var headers: [String: String] = [:]
        var delay: Duration? = nil
        var body: String = "ok"
    }

    private final class Log: Sendable {
        let requests = Mutex<[Request]>([])
    }
    private let log = Log()
    private let task: Task<Void, any Error>
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    var requests: [Request] { log.requests.withLock { $0 } }
    /// How many requests arrived (cheap: no copy).
    var count: Int { log.requests.withLock { $0.count } }

    /// `respond` gets the request and its 0-based arrival index.
    init(respond: @escaping @Sendable (Request, Int) -> Reply = { _, _ in Reply() }) async throws {
        let log = self.log
        let router = Router()
        let handler: @Sendable (Hummingbird.Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 4 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let entry = Request(
                method: request.method.rawValue, path: request.uri.path, headers: headers,
                body: Array(body.readableBytesView), receivedAt: Int64(Date().timeIntervalSince1970 * 1000))
            let index = log.requests.withLock { requests in
                requests.append(entry)
                return requests.count - 1
            }
            let reply = respond(entry, index)
            if let delay = reply.delay { try await Task.sleep(for: delay) }
            log.requests.withLock { $0[index].status = reply.status }
            var fields = HTTPFields()
            for (name, value) in reply.headers {
                if let field = HTTPField.Name(name) { fields[field] = value }
            }
            return Response(
                status: .init(code: reply.status), headers: fields,
                body: .init(byteBuffer: ByteBuffer(string: reply.body)))
        }
        router.post("**", use: handler)
        router.put("**", use: handler)
        router.post("/", use: handler)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test.receiver")
        // Stopping by cancellation makes the server log errors about the cancelled connections.
        logger.logLevel = .critical
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await application.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    deinit { task.cancel() }
}
