import ArgumentParser
import Contracts
import FleetAdmin
import Foundation
import PostgresChangeLog

/// `fraiseql-observer audit`: searches the `search` action's audit index (PostgreSQL).
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the audit index (the search action's PostgreSQL full-text index), newest first.",
        discussion: "Prints `next: <cursor>` after a full page: pass it as --before for the next one.")

    @OptionGroup var options: AdminOptions
    @Argument(help: "Words, \"quoted phrases\", or, -excluded (websearch syntax); none: every event.")
    var text: [String] = []
    @Option(help: "Only this index name.") var index: String?
    @Option(help: "Only this entity type.") var entity: String?
    @Option(name: .customLong("entity-id"), help: "Only this entity id.") var entityId: String?
    @Option(help: "Only insert, update or delete.") var operation: String?
    @Option(help: "Only this tenant.") var tenant: String?
    @Option(help: "From this time (RFC 3339, inclusive).") var from: String?
    @Option(help: "To this time (RFC 3339, exclusive).") var to: String?
    @Option(help: "The page after this cursor.") var before: String?
    @Option(help: "Hits per page (1...500).") var limit: Int = 50

    func run() async throws {
        var query = AuditQuery(
            text: text.isEmpty ? nil : text.joined(separator: " "), index: index, entityType: entity,
            entityId: entityId, operation: operation, tenantId: tenant, from: try CLITime.parse(from, "from"),
            to: try CLITime.parse(to, "to"), limit: limit)
        if let before {
            guard let cursor = AuditCursor(text: before) else { throw ValidationError("--before is not a cursor") }
            query.before = cursor
        }
        let (format, wanted) = (options.format, query)
        try await AdminConnection.run(options) { connection in
            let hits = try await connection.audit(wanted)
            switch format {
            case .json: print(try CLIOutput.json(hits))
            case .text:
                for hit in hits {
                    print(
                        "\(hit.occurredAt.rfc3339) \(hit.entityType) \(hit.entityId) \(hit.operation) "
                            + "event \(hit.eventId.uuidString.lowercased()) [\(hit.index)] \(hit.document)")
                }
                if hits.count == wanted.limit, let last = hits.last { print("next: \(last.cursor.text)") }
            }
            return CLIExit.ok
        }
    }
}
