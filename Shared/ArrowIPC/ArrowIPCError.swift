/// An error of the Arrow IPC encoder: what failed, and the codec's own message.
public struct ArrowIPCError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The body compressor refused a buffer.
        case compression
        /// A value does not fit its column's type (a decimal with too many digits).
        case invalidValue
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
