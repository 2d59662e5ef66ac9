import FleetAdmin
import HTTPTypes

/// An admin API answer other than success: its status and a JSON body `{"error": code, "message": …}`.
struct AdminAPIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    init(_ error: AdminError) {
        switch error.code {
        case .invalidArgument: self.init(.badRequest, error.code.rawValue, error.message)
        case .notFound: self.init(.notFound, error.code.rawValue, error.message)
        case .unavailable: self.init(.serviceUnavailable, error.code.rawValue, error.message)
        }
    }

    static func badRequest(_ message: String) -> AdminAPIError {
        AdminAPIError(.badRequest, "invalid_argument", message)
    }
}
