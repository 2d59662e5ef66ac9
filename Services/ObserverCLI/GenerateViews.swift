import ArgumentParser
import Config
import FleetCore
import Foundation
import PostgresChangeLog
import PostgresNIO

/// `fraiseql-observer generate-views`: the DDL of `va_<entity>` and `ta_<entity>` for the
/// captured entities (docs/flight.md), printed or applied.
struct GenerateViews: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-views",
        abstract:
            "Print (or apply) the analytic views of the captured entities: va_<entity> over the change log, typed like the source table, and ta_<entity>, the same kept in a table by ta_<entity>_refresh()."
    )

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Only this entity (default: every [[bridge.tables]] entity).")
    var entity: String?

    @Option(name: .long, help: "The schema the views and tables go to.")
    var schema = "public"

    @Flag(name: .long, help: "Apply the DDL in one transaction instead of printing it.")
    var apply = false

    func run() async throws {
        let configuration = try options.load()
        let tables = configuration.bridge.tables.filter { entity == nil || $0.entity == entity }
        guard !tables.isEmpty else {
            throw ConfigOption.exit(
                ConfigError(
                    key: "bridge.tables",
                    message: entity.map { "no captured table has entity '\($0)'" } ?? "no table is captured"))
        }
        try await options.withPostgres(configuration) { connection in
            var statements: [String] = []
            for table in tables {
                let columns = try await AnalyticViews.columns(
                    of: table, connection: connection, logger: ConfigOption.logger)
                statements += AnalyticViews.statements(entity: table.entity, columns: columns, schema: schema)
            }
            guard apply else {
                for statement in statements { print(statement + ";\n") }
                return
            }
            let store = ChangeLogStore(connection: connection, logger: ConfigOption.logger)
            try await store.transaction {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: ConfigOption.logger)
                }
            }
            print("applied the analytic views of \(tables.map(\.entity).joined(separator: ", ")) in schema \(schema)")
        }
    }
}
