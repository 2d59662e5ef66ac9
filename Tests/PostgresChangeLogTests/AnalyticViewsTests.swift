import Foundation
import PostgresChangeLog
import Testing

/// The DDL of the analytic views, against a reviewed golden file (its behaviour on a real
/// PostgreSQL is tested by FlightServerTests.views). `FRAISEQL_UPDATE_GOLDEN=1` rewrites it.
@Suite("analytic views DDL")
struct AnalyticViewsTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/analytic_views_order.sql")

    @Test("va_order, ta_order and its refresh function for a table of every kind of column")
    func order() throws {
        let columns = [
            AnalyticViews.Column(name: "id", type: "bigint", category: "N"),
            AnalyticViews.Column(name: "customer", type: "text", category: "S"),
            AnalyticViews.Column(name: "total", type: "numeric(10,2)", category: "N"),
            AnalyticViews.Column(name: "placed_at", type: "timestamp with time zone", category: "D"),
            AnalyticViews.Column(name: "tags", type: "text[]", category: "A"),
            AnalyticViews.Column(name: "details", type: "jsonb", category: "U"),
            AnalyticViews.Column(name: "Odd \"name\"", type: "integer", category: "N"),
        ]
        let text = AnalyticViews.statements(entity: "order", columns: columns).joined(separator: ";\n\n") + ";\n"
        if ProcessInfo.processInfo.environment["FRAISEQL_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(
                at: Self.golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: Self.golden, encoding: .utf8)))
    }
}
