import Config
import Contracts
import Foundation

/// `[bridge]` and `[[bridge.tables]]`
public struct BridgeConfiguration: Sendable {
    /// `transport_name`: names the source in events and checkpoints. Default `pg-main`.
    public var transportName = "pg-main"
    /// `batch_size`: rows per publish batch. Default 500.
    public var batchSize = 500
    /// `poll_interval`: fallback wake-up when no notification arrives. Default `1s`.
    public var pollInterval: Duration = .seconds(1)
    /// `retention`: published change-log rows captured longer ago than this are deleted. Default `3d`.
    public var retention: Duration = .seconds(3 * 86_400)
    /// `oversized`: an event larger than the NATS server's `max_payload` is set aside in the
    /// bridge's dead-letter table (`dead_letter`, the default) or published without `before`,
    /// `after` and `changes`, marked `images_omitted` (`omit_images`).
    public var oversized = "dead_letter"
    /// `capture_role`: the NOLOGIN role that owns the capture trigger function, which runs with
    /// its rights (insert into the change log, nothing else). `install` creates it when missing.
    /// Default `fraiseql_capture`.
    public var captureRole = BridgeConfiguration.defaultCaptureRole
    public static let defaultCaptureRole = "fraiseql_capture"
    /// `capture`: how changes are captured. mysql-bridge: `trigger` (the default: triggers fill
    /// a change log; works on every MySQL, managed ones included) or `binlog` (reads the
    /// row-based binlog as a replica; no triggers on the application's tables). mssql-bridge:
    /// `change_tracking` (the default: SQL Server's Change Tracking) or `trigger` (T-SQL triggers
    /// fill a change log, with before images; for databases where Change Tracking cannot be
    /// enabled). Nil when not set.
    public var capture: String?
    /// `binlog_server_id` (mysql-bridge, binlog mode): the replica id the bridge reads the binlog
    /// as; unique among the server's replicas. Default: derived from `transport_name`.
    public var binlogServerID: UInt32?
    public var tables: [Table] = []

    public struct Table: Sendable {
        /// `table`: schema-qualified table name (`public.orders`). Required.
        public var table: String
        /// `entity`: entity type in events and subjects. Required; `[a-z0-9_-]` after lower-casing.
        public var entity: String
        /// `id_column`: default `id`.
        public var idColumn: String
        /// `include_columns` / `exclude_columns`: optional column lists.
        public var includeColumns: [String]
        public var excludeColumns: [String]
        /// `tenant_column`: optional column whose value becomes the event's `tenant_id`.
        public var tenantColumn: String?

        public init(
            table: String, entity: String, idColumn: String = "id", includeColumns: [String] = [],
            excludeColumns: [String] = [], tenantColumn: String? = nil
        ) {
            self.table = table
            self.entity = entity
            self.idColumn = idColumn
            self.includeColumns = includeColumns
            self.excludeColumns = excludeColumns
            self.tenantColumn = tenantColumn
        }
    }

    public init(_ scope: ConfigScope) throws(ConfigError) {
        transportName = try scope.string("transport_name", default: transportName)
        batchSize = try scope.int("batch_size", default: batchSize, range: 1...100_000)
        pollInterval = try scope.duration("poll_interval", default: pollInterval)
        retention = try scope.duration("retention", default: retention)
        oversized = try scope.choice("oversized", ["dead_letter", "omit_images"], default: oversized)
        captureRole = try scope.string("capture_role", default: captureRole)
        if try scope.optionalString("capture") != nil {
            capture = try scope.choice("capture", ["trigger", "binlog", "change_tracking"], default: "trigger")
        }
        if let id = try scope.optionalInt("binlog_server_id") {
            guard id >= 2, id <= Int(UInt32.max) else {
                throw scope.error("binlog_server_id", "must be from 2 to \(UInt32.max), and not the server's own id")
            }
            binlogServerID = UInt32(id)
        }
        guard !captureRole.isEmpty, captureRole.utf8.count <= 63 else {
            throw scope.error("capture_role", "must be a role name of 1 to 63 bytes")
        }
        tables = try scope.tables("tables").map { table throws(ConfigError) in
            guard let name = try table.optionalString("table") else { throw table.error("table", "is required") }
            guard let entity = try table.optionalString("entity") else { throw table.error("entity", "is required") }
            do throws(ContractsError) {
                _ = try SubjectNamer.entityToken(entity)
            } catch {
                throw table.error("entity", error.description)
            }
            return Table(
                table: name, entity: entity, idColumn: try table.string("id_column", default: "id"),
                includeColumns: try table.strings("include_columns", default: []),
                excludeColumns: try table.strings("exclude_columns", default: []),
                tenantColumn: try table.optionalString("tenant_column"))
        }
    }
}
