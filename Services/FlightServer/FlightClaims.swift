import JWTKit

/// The claims of a JWT presented to flight-server: who (`sub`), until when (`exp`), with which
/// roles and, optionally, which entity types.
struct FlightClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iss: IssuerClaim?
    var aud: AudienceClaim?
    var roles: [String]
    var entities: [String]?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
