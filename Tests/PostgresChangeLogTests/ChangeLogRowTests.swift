import Contracts
import Testing

@testable import PostgresChangeLog

/// The one decoder of change-log rows, on lines as PostgreSQL writes them (`ChangeLogRow.lineSQL`),
/// without a server.
@Suite("ChangeLogRow")
struct ChangeLogRowTests {
    static let source = Array(FastJSON.quoted("pg-main").utf8)

    func decode(_ text: String, extraFields: Int = 0) -> (rows: [ChangeLogRow], malformed: [ChangeLogError]) {
        var text = text
        var malformed: [ChangeLogError] = []
        let rows = text.withUTF8 { bytes in
            ChangeLogRow.decodeLines(bytes, quotedSource: Self.source, extraFields: extraFields) { error, _ in
                malformed.append(error)
            }
        }
        return (rows, malformed)
    }

    @Test("a line becomes the event's wire JSON, with PostgreSQL's row images kept as they are")
    func wellFormed() throws {
        let line = [
            "42", "3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11", "update", "1764000000123456", #""order""#, #""7""#,
            #""acme""#, #"{"id": 7, "total": 10.50}"#, #"{"id": 7, "total": 12.25}"#,
            #"{"total": {"new": 12.25, "old": 10.50}}"#,
        ].joined(separator: "\t")
        let (rows, malformed) = decode(line)
        #expect(malformed.isEmpty)
        let row = try #require(rows.first)
        #expect(row.id == 42)
        #expect(row.eventID == "3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11")
        #expect(row.entityType == "order")
        #expect(row.operation == .update)
        let event = try row.event()
        #expect(event.cursor == 42)
        #expect(event.source == "pg-main")
        #expect(event.entityId == "7")
        #expect(event.tenantId == "acme")
        #expect(event.occurredAt.microsecondsSinceEpoch == 1_764_000_000_123_456)
        #expect(event.after?["total"] == .double(12.25), "\(String(describing: event.after))")
        #expect(event.changes?["total"]?.old == .double(10.5))
        // The bytes are those FastJSON writes for the decoded event, keys sorted, nothing parsed twice.
        let text = String(decoding: row.payload, as: UTF8.self)
        #expect(text.hasPrefix(#"{"after":{"id":7,"total":12.25},"before":"#), "\(text)")
    }

    @Test("null images and tenant are left out; the claim's attempts come after the row")
    func nullsAndAttempts() throws {
        let line = [
            "5", "00000000-0000-4000-8000-000000000005", "insert", "0", #""item""#, #""a\tb""#, "null", "null",
            #"{"k": "v"}"#, "null", "3",
        ].joined(separator: "\t")
        let (rows, malformed) = decode(line, extraFields: 1)
        #expect(malformed.isEmpty)
        let row = try #require(rows.first)
        #expect(row.attempts == 3)
        let event = try row.event()
        #expect(event.before == nil)
        #expect(event.tenantId == nil)
        #expect(event.entityId == "a\tb", "an escaped tab in a JSON string is not a field separator")
        #expect(!String(decoding: row.payload, as: UTF8.self).contains("tenant_id"))
    }

    @Test("a malformed line is reported with its id, and the lines around it still decode")
    func malformedLine() {
        let good = { (id: Int) in
            [
                "\(id)", "00000000-0000-4000-8000-00000000000\(id)", "delete", "1", #""item""#, #""x""#, "null",
                #"{"k": 1}"#, "null", "null",
            ].joined(separator: "\t")
        }
        let text = [good(1), "2\tnot-a-uuid\tinsert", good(3)].joined(separator: "\n")
        let (rows, malformed) = decode(text)
        #expect(rows.map(\.id) == [1, 3])
        #expect(malformed.count == 1)
        #expect(malformed.first?.code == .malformedRow)
        #expect(malformed.first?.changeID == 2)
    }
}
