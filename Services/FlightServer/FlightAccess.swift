import Crypto
import FleetCore
import Foundation
import GRPCCore
import JWTKit

/// Authentication and authorisation: bearer tokens from `flight.token` and `[[flight.tokens]]`,
/// and JWTs verified as `[flight.jwt]` says, presented as `authorization: Bearer <token>` call
/// metadata, or exchanged by `Handshake` (basic credentials whose password is a token, or the
/// token as the handshake payload).
struct FlightAccess: Sendable {
    private let tokens: [(digest: [UInt8], principal: FlightPrincipal, secret: String)]
    private let jwtKeys: JWTKeyCollection?
    private let jwt: FlightConfiguration.JWT?
    let metrics: FlightMetrics

    init(_ configuration: FlightConfiguration, metrics: FlightMetrics) async throws {
        jwt = configuration.jwt
        if let jwt = configuration.jwt {
            let keys = JWTKeyCollection()
            switch jwt.algorithm {
            case "HS256": await keys.add(hmac: HMACKey(from: jwt.secret!.value), digestAlgorithm: .sha256)
            case "ES256":
                await keys.add(
                    ecdsa: try ES256PublicKey(pem: try String(contentsOfFile: jwt.publicKeyFile!, encoding: .utf8)))
            default:
                await keys.add(
                    rsa: try Insecure.RSA.PublicKey(
                        pem: try String(contentsOfFile: jwt.publicKeyFile!, encoding: .utf8)),
                    digestAlgorithm: .sha256)
            }
            jwtKeys = keys
        } else {
            jwtKeys = nil
        }
        tokens = configuration.tokens.map { token in
            (
                Array(SHA256.hash(data: Array(token.secret.value.utf8))),
                FlightPrincipal(name: token.name, roles: token.roles, entities: token.entities), token.secret.value
            )
        }
        self.metrics = metrics
    }

    var isOpenToNobody: Bool { tokens.isEmpty && jwtKeys == nil }

    /// The principal of a static token or of a valid JWT.
    func principal(token: String) async -> FlightPrincipal? {
        if let principal = staticPrincipal(token: token) { return principal }
        guard let jwtKeys, let jwt, token.split(separator: ".").count == 3 else { return nil }
        do {
            let claims = try await jwtKeys.verify(token, as: FlightClaims.self)
            if let issuer = jwt.issuer, claims.iss?.value != issuer { return nil }
            if let audience = jwt.audience {
                guard let claimed = claims.aud else { return nil }
                try claimed.verifyIntendedAudience(includes: audience)
            }
            return FlightPrincipal(
                name: "jwt:\(claims.sub.value)", roles: Set(claims.roles), entities: claims.entities.map(Set.init))
        } catch {
            return nil
        }
    }

    /// The principal of a static token; compared through digests in constant time, every token tried.
    private func staticPrincipal(token: String) -> FlightPrincipal? {
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        var found: FlightPrincipal?
        for entry in tokens {
            var difference: UInt8 = 0
            for (a, b) in zip(entry.digest, digest) { difference |= a ^ b }
            if difference == 0 { found = entry.principal }
        }
        return found
    }

    /// The caller of an RPC, from its `authorization` metadata.
    func authenticate(_ metadata: Metadata) async throws(RPCError) -> FlightPrincipal {
        guard let header = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
            metrics.authenticationFailed("missing")
            throw RPCError(code: .unauthenticated, message: "no credentials: send 'authorization: Bearer <token>'")
        }
        guard header.lowercased().hasPrefix("bearer ") else {
            metrics.authenticationFailed("scheme")
            throw RPCError(code: .unauthenticated, message: "the authorization header must be 'Bearer <token>'")
        }
        guard let principal = await principal(token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else {
            metrics.authenticationFailed("invalid")
            throw RPCError(code: .unauthenticated, message: "invalid token")
        }
        return principal
    }

    /// The token a handshake presents: `authorization: Basic base64(user:token)` or the payload.
    func handshakeToken(metadata: Metadata, payload: [UInt8]) -> String? {
        if let header = metadata[stringValues: "authorization"].first(where: { _ in true }),
            header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            return String(text[text.index(after: colon)...])
        }
        if let header = metadata[stringValues: "authorization"].first(where: { _ in true }),
            header.lowercased().hasPrefix("bearer ")
        {
            return String(header.dropFirst(7))
        }
        return payload.isEmpty ? nil : String(decoding: payload, as: UTF8.self)
    }

    /// Refuses a principal without `role` (PERMISSION_DENIED).
    func require(_ role: String, _ principal: FlightPrincipal) throws(RPCError) {
        guard principal.has(role) else {
            throw RPCError(code: .permissionDenied, message: "token '\(principal.name)' lacks the role \(role)")
        }
    }
}
