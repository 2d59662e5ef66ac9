import BridgeEngine
import Contracts
import Foundation
import Logging
import Synchronization

/// The bridge engine's SQL Server adapter on Change Tracking: positions are (version, table,
/// key); a version is a committed transaction, so the checkpoint (a version, kept per table)
/// only moves to the end of one; event ids are derived from (transport, table, version, key);
/// retention is the database's (`CHANGE_RETENTION`): a checkpoint older than a table's
/// `CHANGE_TRACKING_MIN_VALID_VERSION` is "resync required".
public final class ChangeTrackingSource<Database: ChangeTrackingDatabase>: ChangeSource {
    public typealias Position = ChangeTrackingPosition

    let database: Database
    let transportName: String
    let tables: [BridgeConfiguration.Table]
    let progress = ChangeTrackingProgress()

    public init(database: Database, transportName: String, tables: [BridgeConfiguration.Table]) {
        self.database = database
        self.transportName = transportName
        self.tables = tables
    }

    public func becomeLeader(logger: Logger) async throws -> ChangeTrackingSession<Database.Connection> {
        let connection = try await database.lead(transport: transportName, logger: logger)
        do {
            let checkpoints = try await connection.checkpoints(transport: transportName)
            let names = tables.map(\.table)
            // The oldest table checkpoint is where reading resumes (they move together).
            let checkpoint = names.compactMap { checkpoints[$0] }.min()
            progress.reset()
            return ChangeTrackingSession(
                connection: connection, transportName: transportName, tables: tables, checkpoint: checkpoint,
                progress: progress, logger: logger)
        } catch {
            await connection.close()
            throw error
        }
    }

    public func watchForChanges(logger: Logger, signal: @escaping @Sendable () -> Void) async {}

    /// Changes read and not yet published (Change Tracking has no cheap count of what is left).
    public func lag() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        (Int64(progress.count), 0)
    }

    public func isReachable() async -> Bool { await database.isReachable() }
}

/// The leader's session on Change Tracking.
public final class ChangeTrackingSession<Connection: ChangeTrackingConnection>: ChangeSession {
    public typealias Position = ChangeTrackingPosition

    let connection: Connection
    let transportName: String
    let tables: [BridgeConfiguration.Table]
    let byName: [String: BridgeConfiguration.Table]
    let logger: Logger
    let progress: ChangeTrackingProgress
    private let checkpoint: Mutex<Int64?>
    /// The version the next `.next` read continues after (the last one returned).
    private let after: Mutex<Int64?>

    init(
        connection: Connection, transportName: String, tables: [BridgeConfiguration.Table], checkpoint: Int64?,
        progress: ChangeTrackingProgress, logger: Logger
    ) {
        self.connection = connection
        self.transportName = transportName
        self.tables = tables
        self.byName = Dictionary(tables.map { ($0.table, $0) }, uniquingKeysWith: { first, _ in first })
        self.checkpoint = Mutex(checkpoint)
        self.after = Mutex(nil)
        self.progress = progress
        self.logger = logger
    }

    public var retention: Retention { .database }

    public func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<ChangeTrackingPosition>] {
        let names = tables.map(\.table)
        var baseline = checkpoint.withLock { $0 }
        if baseline == nil {
            // No checkpoint (install not run): capture starts now.
            let now = try await connection.currentVersion()
            guard try await connection.moveCheckpoints(transport: transportName, tables: names, from: nil, to: now)
            else { throw BridgeError.leadershipLost() }
            checkpoint.withLock { $0 = now }
            baseline = now
        }
        guard let baseline else { return [] }
        if mode == .restart { after.withLock { $0 = nil } }
        let start = after.withLock { $0 } ?? baseline
        let batch = try await connection.changes(tables: names, after: start, limit: limit)
        for name in names {
            if let minimum = batch.minValidVersions[name], baseline < minimum {
                throw BridgeError.resyncRequired(
                    "the checkpoint (version \(baseline)) of \(name) is older than its CHANGE_TRACKING_MIN_VALID_VERSION (\(minimum)): Change Tracking's retention removed changes not yet published"
                )
            }
        }
        var records: [ChangeRecord<ChangeTrackingPosition>] = []
        records.reserveCapacity(batch.rows.count)
        for (index, row) in batch.rows.enumerated() {
            // Versions come whole: a version's last row ends its transaction.
            let next = index + 1 < batch.rows.count ? batch.rows[index + 1].version : nil
            records.append(record(row, endsTransaction: next != row.version))
        }
        // A read that reached the current version continues after it: the net changes read
        // already cover every version up to it.
        if batch.complete {
            after.withLock { $0 = max($0 ?? baseline, batch.currentVersion) }
        } else if let last = batch.rows.last {
            after.withLock { $0 = last.version }
        }
        progress.read(records.count)
        if records.isEmpty, progress.count == 0, batch.currentVersion > baseline, mode != .prefetch {
            // Nothing to publish: the checkpoint follows the current version, so Change
            // Tracking's retention never passes a checkpoint that has nothing left to read.
            guard
                try await connection.moveCheckpoints(
                    transport: transportName, tables: names, from: baseline, to: batch.currentVersion)
            else { throw BridgeError.leadershipLost() }
            checkpoint.withLock { $0 = batch.currentVersion }
            after.withLock { $0 = nil }
        }
        return records
    }

    func record(_ row: ChangeTrackingRow, endsTransaction: Bool) -> ChangeRecord<ChangeTrackingPosition> {
        let table = byName[row.table]
        let image = row.row.map { image in
            image.filter { column, _ in
                (table?.includeColumns.isEmpty ?? true || table?.includeColumns.contains(column) == true)
                    && table?.excludeColumns.contains(column) != true
            }
        }
        let tenant = table?.tenantColumn.flatMap { row.row?[$0] }.flatMap { value -> String? in
            switch value {
            case .string(let text): text
            case .int(let number): String(number)
            case .null: nil
            default: "\(value)"
            }
        }
        let event = EntityEvent(
            id: StableEventID.derive(source: transportName, position: "\(row.table):\(row.version)", key: row.key),
            cursor: row.version, source: transportName, entityType: table?.entity ?? row.table, entityId: row.key,
            operation: row.operation, before: nil, after: row.operation == .delete ? nil : image, tenantId: tenant,
            occurredAt: .now())
        return ChangeRecord(event: event, position: row.position, endsTransaction: endsTransaction)
    }

    public func setAside(_ changes: [SetAsideChange<ChangeTrackingPosition>]) async throws {
        try await connection.setAside(transport: transportName, changes)
    }

    public func markPublished(_ positions: [ChangeTrackingPosition], checkpoint new: ChangeTrackingPosition?)
        async throws
    {
        if let new {
            let current = checkpoint.withLock { $0 }
            if current.map({ new.version > $0 }) ?? true {
                guard
                    try await connection.moveCheckpoints(
                        transport: transportName, tables: tables.map(\.table), from: current, to: new.version)
                else { throw BridgeError.leadershipLost() }
                checkpoint.withLock { $0 = new.version }
            }
        }
        progress.marked(positions.count)
    }

    public func close() async {
        await connection.close()
    }
}
