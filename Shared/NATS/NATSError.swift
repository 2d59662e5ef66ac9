import CNATS

/// An error from the NATS client, carrying the C library's status and JetStream error code.
public struct NATSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// Could not connect, or the connection is closed.
        case connection
        /// The operation did not complete in time (for a publish: no PubAck arrived).
        case timeout
        /// The server answered with a JetStream API error (see ``jetStreamErrorCode``).
        case jetStream
        /// The stream or consumer does not exist.
        case notFound
        case invalidArgument
        /// Any other status of the C library.
        case other
    }

    public var code: Code
    /// The `natsStatus` value.
    public var status: Int32
    /// The JetStream API error code (`10071`, …), or 0.
    public var jetStreamErrorCode: Int
    public var message: String
    public var operation: String

    public var description: String {
        var text = "NATS \(operation) failed (\(code.rawValue)): \(message)"
        if jetStreamErrorCode != 0 { text += " [JetStream error \(jetStreamErrorCode)]" }
        return text
    }

    /// Turns a status into an error, or nil for `NATS_OK`. The one place C statuses become Swift errors.
    /// `operation` is built only on failure (hot paths pass interpolated text).
    static func check(
        _ status: natsStatus, _ operation: @autoclosure () -> String, jsError: jsErrCode = jsErrCode(0)
    ) throws(NATSError) {
        guard status != NATS_OK else { return }
        throw NATSError(status: status, operation: operation(), jsError: jsError)
    }

    init(status: natsStatus, operation: String, jsError: jsErrCode = jsErrCode(0), text: String? = nil) {
        self.status = Int32(bitPattern: status.rawValue)
        self.jetStreamErrorCode = Int(jsError.rawValue)
        self.operation = operation
        var message = text ?? String(cString: natsStatus_GetText(status))
        if text == nil, let last = nats_GetLastError(nil) {
            let detail = String(cString: last)
            if !detail.isEmpty, detail != message { message += " (\(detail))" }
        }
        self.message = message
        switch status {
        case NATS_TIMEOUT: self.code = .timeout
        case NATS_NOT_FOUND: self.code = .notFound
        case NATS_INVALID_ARG: self.code = .invalidArgument
        case NATS_CONNECTION_CLOSED, NATS_NO_SERVER, NATS_CONNECTION_DISCONNECTED, NATS_STALE_CONNECTION,
            NATS_CONNECTION_AUTH_FAILED, NATS_NOT_YET_CONNECTED:
            self.code = .connection
        default:
            self.code =
                jsError.rawValue != 0
                ? (jsError == JSStreamNotFoundErr || jsError == JSConsumerNotFoundErr ? .notFound : .jetStream) : .other
        }
    }

    init(code: Code, operation: String, message: String) {
        self.code = code
        self.status = 0
        self.jetStreamErrorCode = 0
        self.operation = operation
        self.message = message
    }
}
