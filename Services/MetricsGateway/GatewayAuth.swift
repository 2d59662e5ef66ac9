import FleetCore
import Hummingbird

/// The admin API's bearer tokens: `read` or `admin`, compared in constant time.
struct GatewayAuth: Sendable {
    enum Role: Int, Sendable, Comparable {
        case read = 0
        case admin = 1

        static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private let tokens: [(secret: [UInt8], role: Role)]

    init(_ tokens: [GatewayConfiguration.Token]) {
        self.tokens = tokens.map { (Array($0.secret.value.utf8), $0.role == "admin" ? .admin : .read) }
    }

    /// The role of the request's `Authorization: Bearer` token; nil when it has none or an unknown one.
    func role(_ request: Request) -> Role? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let given = Array(header.utf8.dropFirst(7))
        var found: Role?
        // Every token is compared, each in time independent of where they differ.
        for token in tokens where Self.equal(token.secret, given) { found = token.role }
        return found
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
