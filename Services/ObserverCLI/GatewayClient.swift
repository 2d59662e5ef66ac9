import AsyncHTTPClient
import FleetAdmin
import Foundation
import NIOCore

/// The CLI's side of metrics-gateway's admin API.
struct GatewayClient: Sendable {
    let base: String
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var message: String
        var description: String { message }

        var exitCode: Int32 {
            switch status {
            case 401, 403: CLIExit.refused
            case 404: CLIExit.notFound
            case 400, 413: CLIExit.usage
            default: CLIExit.unavailable
            }
        }
    }

    init(base: String, token: String?) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.token = token
    }

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try await call("GET", path, body: nil, as: type)
    }

    func post<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type) async throws -> T {
        try await call("POST", path, body: try JSONEncoder().encode(body), as: type)
    }

    private func call<T: Decodable>(_ method: String, _ path: String, body: Data?, as type: T.Type) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        // AsyncHTTPClient keeps trying to connect until a request's deadline: a short probe
        // first, so that an unreachable gateway fails in seconds, not after the long deadline.
        do {
            _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/health/live"), timeout: .seconds(5))
        } catch {
            throw Failure(status: 0, message: "the gateway at \(base) did not answer: \(error)")
        }
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw Failure(status: 0, message: "the gateway at \(base) did not answer: \(error)")
        }
        let data = Data(bytes.readableBytesView)
        guard response.status == .ok else {
            let message =
                (try? JSONDecoder().decode(ErrorReply.self, from: data)).map { "\($0.error): \($0.message)" }
                ?? String(decoding: data, as: UTF8.self)
            throw Failure(
                status: Int(response.status.code), message: "gateway: HTTP \(response.status.code), \(message)")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }

    private struct ErrorReply: Decodable {
        var error: String
        var message: String
    }

    /// A path segment, percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? text
    }
}
