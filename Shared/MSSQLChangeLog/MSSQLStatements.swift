import BridgeEngine
import FreeTDS

/// mssql-bridge's T-SQL, the one owner of its text: what `install` runs, the leader lock, the
/// Change Tracking read, the checkpoint and dead-letter statements. Golden-file tested.
public enum MSSQLStatements {
    public static let checkpoints = "dbo.fraiseql_bridge_checkpoints"
    public static let deadLetters = "dbo.fraiseql_bridge_dead_letters"

    /// `table` or `schema.table` → bracketed `[schema].[table]` (schema `dbo` by default).
    public static func qualified(_ table: String) -> String {
        let (schema, name) = nameParts(table)
        return "\(TDSConnection.identifier(schema)).\(TDSConnection.identifier(name))"
    }

    /// The checkpoint and dead-letter tables (both modes), created when missing.
    static let bridgeTables = [
        """
        IF OBJECT_ID(N'\(checkpoints)', N'U') IS NULL
            CREATE TABLE \(checkpoints) (
                transport NVARCHAR(255) NOT NULL,
                table_name NVARCHAR(300) NOT NULL,
                version BIGINT NOT NULL,
                updated_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(),
                CONSTRAINT fraiseql_bridge_checkpoints_pk PRIMARY KEY (transport, table_name))
        """,
        """
        IF OBJECT_ID(N'\(deadLetters)', N'U') IS NULL
            CREATE TABLE \(deadLetters) (
                transport NVARCHAR(255) NOT NULL,
                change_id NVARCHAR(800) NOT NULL,
                event_id CHAR(36) NOT NULL,
                entity_type NVARCHAR(128) NOT NULL,
                reason NVARCHAR(MAX) NOT NULL,
                event NVARCHAR(MAX) NOT NULL,
                created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(),
                CONSTRAINT fraiseql_bridge_dead_letters_pk PRIMARY KEY (transport, change_id))
        """,
    ]

    /// Change Tracking on the database (retention in days, automatic cleanup) and on each table,
    /// snapshot isolation for consistent reads, the checkpoint and dead-letter tables. Safe to
    /// run again: each step checks first.
    public static func install(tables: [BridgeConfiguration.Table], retentionDays: Int, transport: String) -> [String] {
        var statements =
            [
                """
                IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())
                    ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = \(max(1, retentionDays)) DAYS, AUTO_CLEANUP = ON)
                """,
                "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON",
            ] + bridgeTables
        for table in tables {
            statements.append(
                """
                IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(\(TDSConnection.literal(qualified(table.table)))))
                    ALTER TABLE \(qualified(table.table)) ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF)
                """)
        }
        // Where capture starts: the current version, for tables without a checkpoint yet.
        for table in tables {
            statements.append(
                """
                INSERT INTO \(checkpoints) (transport, table_name, version)
                SELECT \(TDSConnection.literal(transport)), \(TDSConnection.literal(table.table)), CHANGE_TRACKING_CURRENT_VERSION()
                 WHERE NOT EXISTS (SELECT 1 FROM \(checkpoints) WHERE transport = \(TDSConnection.literal(transport)) AND table_name = \(TDSConnection.literal(table.table)))
                """)
        }
        return statements
    }

    /// The transport's lock on this session (`sp_getapplock`, owner Session: released when the
    /// session ends); the result is 0 or 1 when granted, negative when another session holds it.
    public static func leaderLock(transport: String) -> String {
        """
        DECLARE @granted INT;
        EXEC @granted = sp_getapplock @Resource = \(TDSConnection.literal("fraiseql_bridge:" + transport)), @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
        SELECT @granted AS granted
        """
    }

    /// One snapshot read: first the current version and each table's minimum valid version (and
    /// whether Change Tracking is on for it), then per table up to `limit` changes after
    /// `after`, whole versions (`TOP … WITH TIES` on the version), each with the current row.
    public static func changes(tables: [BridgeConfiguration.Table], after: Int64, limit: Int) -> String {
        var lines = [
            "SET TRANSACTION ISOLATION LEVEL SNAPSHOT;",
            "BEGIN TRANSACTION;",
            "SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version"
                + tables.map {
                    ",\n       CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(\(TDSConnection.literal(qualified($0.table))))) AS \(TDSConnection.identifier($0.table))"
                }.joined() + ";",
        ]
        for table in tables {
            let key = TDSConnection.identifier(table.idColumn)
            lines.append(
                """
                SELECT TOP (\(max(1, limit))) WITH TIES \(TDSConnection.literal(table.table)) AS fraiseql_table,
                       ct.SYS_CHANGE_VERSION AS fraiseql_version, ct.SYS_CHANGE_OPERATION AS fraiseql_operation,
                       CONVERT(NVARCHAR(450), ct.\(key)) AS fraiseql_key, t.*
                  FROM CHANGETABLE(CHANGES \(qualified(table.table)), \(after)) AS ct
                  LEFT JOIN \(qualified(table.table)) AS t ON t.\(key) = ct.\(key)
                 WHERE ct.SYS_CHANGE_VERSION <= CHANGE_TRACKING_CURRENT_VERSION()
                 ORDER BY ct.SYS_CHANGE_VERSION;
                """)
        }
        lines.append("COMMIT TRANSACTION;")
        return lines.joined(separator: "\n")
    }

    /// The tables among `tables` without Change Tracking (one result row each).
    public static func untracked(_ tables: [BridgeConfiguration.Table]) -> String {
        tables.map {
            "SELECT \(TDSConnection.literal($0.table)) AS table_name WHERE NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(\(TDSConnection.literal(qualified($0.table)))))"
        }.joined(separator: "\nUNION ALL\n")
    }

    public static func readCheckpoints(transport: String) -> String {
        "SELECT table_name, version FROM \(checkpoints) WHERE transport = \(TDSConnection.literal(transport))"
    }

    /// Moves every table's checkpoint from `current` to `version` (creates them when `current` is
    /// nil) in one transaction; the count of rows moved is the result.
    public static func moveCheckpoints(transport: String, tables: [String], from current: Int64?, to version: Int64)
        -> String
    {
        let transportText = TDSConnection.literal(transport)
        guard let current else {
            return "BEGIN TRANSACTION;\n"
                + tables.map {
                    "INSERT INTO \(checkpoints) (transport, table_name, version) SELECT \(transportText), \(TDSConnection.literal($0)), \(version) WHERE NOT EXISTS (SELECT 1 FROM \(checkpoints) WHERE transport = \(transportText) AND table_name = \(TDSConnection.literal($0)));"
                }.joined(separator: "\n")
                + "\nCOMMIT TRANSACTION;\nSELECT COUNT(*) AS moved FROM \(checkpoints) WHERE transport = \(transportText) AND version = \(version)"
        }
        return """
            UPDATE \(checkpoints) SET version = \(version), updated_at = SYSUTCDATETIME()
             WHERE transport = \(transportText) AND version = \(current);
            SELECT @@ROWCOUNT AS moved
            """
    }

    public static func insertDeadLetter(
        transport: String, changeID: String, eventID: String, entityType: String, reason: String, event: String
    ) -> String {
        """
        IF NOT EXISTS (SELECT 1 FROM \(deadLetters) WHERE transport = \(TDSConnection.literal(transport)) AND change_id = \(TDSConnection.literal(changeID)))
            INSERT INTO \(deadLetters) (transport, change_id, event_id, entity_type, reason, event)
            VALUES (\(TDSConnection.literal(transport)), \(TDSConnection.literal(changeID)), \(TDSConnection.literal(eventID)), \(TDSConnection.literal(entityType)), \(TDSConnection.literal(reason)), \(TDSConnection.literal(event)))
        """
    }
}
