/// Who is calling: the token's name, roles and entity allow-list.
struct FlightPrincipal: Sendable, Equatable {
    var name: String
    var roles: Set<String>
    /// nil: every entity.
    var entities: Set<String>?

    func has(_ role: String) -> Bool { roles.contains(role) || roles.contains("admin") }
}
