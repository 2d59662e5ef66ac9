import PostgresChangeLog

extension FleetAdmin {
    /// Searches the `search` action's audit index (PostgreSQL), newest first.
    public func searchAudit(_ query: AuditQuery) async throws -> [AuditHit] {
        guard (1...500).contains(query.limit) else { throw AdminError(.invalidArgument, "limit must be 1...500") }
        if let text = query.text, text.utf8.count > 1000 {
            throw AdminError(.invalidArgument, "the search text is longer than 1000 bytes")
        }
        return try await withChangeLog { store in
            guard try await !store.missing(["audit_index"]) else {
                throw AdminError(.notFound, "no audit index yet (no search action has run on this database)")
            }
            return try await store.searchAudit(query)
        }
    }
}
