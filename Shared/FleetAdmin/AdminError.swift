/// An admin operation that could not be done, with what the caller can do about it: the
/// gateway maps the code to an HTTP status, the CLI to an exit code.
public struct AdminError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The request is wrong (a queue not configured, a bad id or filter): fix it.
        case invalidArgument = "invalid_argument"
        /// What the request names does not exist.
        case notFound = "not_found"
        /// A server the operation needs is not configured or not reachable: retry later.
        case unavailable
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
