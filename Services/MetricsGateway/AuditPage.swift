import PostgresChangeLog

/// A page of audit hits (`GET /api/v1/audit`).
struct AuditPage: Codable, Sendable {
    var hits: [AuditHit]
    /// Pass as `before` for the next page (nil: this was the last).
    var next: String?
}
