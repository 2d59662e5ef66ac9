import BridgeEngine
import Contracts
import FreeTDS
import Logging

/// ``ChangeTrackingDatabase`` on a real SQL Server, over FreeTDS.
public struct SQLServerChangeTracking: ChangeTrackingDatabase {
    public let configuration: TDSConfiguration
    public let tables: [BridgeConfiguration.Table]
    public let standbyInterval: Duration
    /// Readiness queries: one kept connection, not a login per probe.
    let probes: TDSClient

    public init(
        configuration: TDSConfiguration, tables: [BridgeConfiguration.Table],
        standbyInterval: Duration = .milliseconds(500)
    ) {
        self.configuration = configuration
        self.tables = tables
        self.standbyInterval = standbyInterval
        self.probes = TDSClient(configuration: configuration)
    }

    public func lead(transport: String, logger: Logger) async throws -> Connection {
        let connection = try await MSSQLLeaderLock.lead(
            configuration, transport: transport, standbyInterval: standbyInterval, logger: logger)
        return Connection(connection: connection, tables: tables)
    }

    public func isReachable() async -> Bool { await probes.isReachable() }

    /// The leader's session.
    public struct Connection: ChangeTrackingConnection {
        let connection: TDSConnection
        let tables: [BridgeConfiguration.Table]

        public func currentVersion() async throws -> Int64 {
            let result = try await connection.query("SELECT CHANGE_TRACKING_CURRENT_VERSION()")
            guard !result.rows.isEmpty, case .int(let version) = try result.json(0, 0) else {
                throw MSSQLError(
                    .changeTrackingDisabled, "Change Tracking is not enabled on the database (run mssql-bridge install)"
                )
            }
            return version
        }

        public func checkpoints(transport: String) async throws -> [String: Int64] {
            let result = try await connection.query(MSSQLStatements.readCheckpoints(transport: transport))
            var versions: [String: Int64] = [:]
            for row in result.rows.indices {
                if let table = result.string(row, 0), case .int(let version) = try result.json(row, 1) {
                    versions[table] = version
                }
            }
            return versions
        }

        public func changes(tables names: [String], after: Int64, limit: Int) async throws -> ChangeTrackingBatch {
            let selected = tables.filter { names.contains($0.table) }
            let untracked = try await connection.query(MSSQLStatements.untracked(selected))
            if !untracked.rows.isEmpty {
                throw MSSQLError(
                    .changeTrackingDisabled,
                    "Change Tracking is not enabled for \(untracked.rows.indices.compactMap { untracked.string($0, 0) }.joined(separator: ", ")) (run mssql-bridge install)"
                )
            }
            let sets = try await connection.results(
                MSSQLStatements.changes(tables: selected, after: after, limit: limit))
            guard let header = sets.first, !header.rows.isEmpty, case .int(let current) = try header.json(0, 0) else {
                throw MSSQLError(
                    .changeTrackingDisabled, "Change Tracking is not enabled on the database (run mssql-bridge install)"
                )
            }
            var minimums: [String: Int64] = [:]
            for (index, table) in selected.enumerated() {
                if case .int(let minimum) = try header.json(0, index + 1) { minimums[table.table] = minimum }
            }
            // Each table's changes, whole versions; where a table stopped at its limit, the
            // merged batch stops at that table's last version (later ones may follow there).
            var rows: [ChangeTrackingRow] = []
            var cut = Int64.max
            for set in sets.dropFirst() {
                var last: Int64 = .min
                for row in set.rows.indices {
                    guard let table = set.string(row, 0), case .int(let version) = try set.json(row, 1) else {
                        continue
                    }
                    let operation: Operation =
                        switch set.string(row, 2) {
                        case "I": .insert
                        case "D": .delete
                        default: .update
                        }
                    var image: [String: JSONValue] = [:]
                    for column in 4..<set.columns.count { image[set.columns[column]] = try set.json(row, column) }
                    rows.append(
                        ChangeTrackingRow(
                            table: table, version: version, operation: operation, key: set.string(row, 3) ?? "",
                            row: operation == .delete ? nil : image))
                    last = max(last, version)
                }
                if set.rows.count >= limit { cut = min(cut, last) }
            }
            rows = rows.filter { $0.version <= cut }.sorted { $0.position < $1.position }
            return ChangeTrackingBatch(
                currentVersion: current, minValidVersions: minimums, rows: rows, complete: cut == .max)
        }

        public func moveCheckpoints(transport: String, tables: [String], from current: Int64?, to version: Int64)
            async throws -> Bool
        {
            let result = try await connection.query(
                MSSQLStatements.moveCheckpoints(transport: transport, tables: tables, from: current, to: version))
            guard case .int(let moved)? = try? result.json(0, 0) else { return false }
            return moved == Int64(tables.count)
        }

        public func setAside(transport: String, _ changes: [SetAsideChange<ChangeTrackingPosition>]) async throws {
            for change in changes {
                try await connection.query(
                    MSSQLStatements.insertDeadLetter(
                        transport: transport, changeID: change.record.position.description,
                        eventID: change.record.eventID, entityType: change.record.entityType, reason: change.reason,
                        event: String(decoding: change.record.payload, as: UTF8.self)))
            }
        }

        public func close() async { await connection.close() }
    }
}
