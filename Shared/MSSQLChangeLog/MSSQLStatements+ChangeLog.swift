import BridgeEngine
import Crypto
import Foundation
import FreeTDS

/// Trigger mode's T-SQL: the change log, the capture triggers and the session's reads and marks.
///
/// How values appear in the images: as `FOR JSON` writes them. Integers, decimals, `money` and
/// floats as JSON numbers; `bit` as `true`/`false`; `date`, `time`, `datetime2` and
/// `datetimeoffset` as ISO 8601 text (`2024-01-02T03:04:05.1230000`, `…+02:00`); text and
/// `uniqueidentifier` as strings; `binary`/`varbinary` as base64; NULL as `null`. Triggers cannot
/// read the deprecated `text`, `ntext` and `image` columns of `inserted`/`deleted`: exclude them.
extension MSSQLStatements {
    public static let changeLog = "dbo.fraiseql_change_log"
    /// The checkpoint row of trigger mode in ``checkpoints`` (its `version` is a change-log id).
    static let changeLogCheckpointRow = "fraiseql_change_log"

    /// The change log (ids in insertion order, an event UUID per row, both images as JSON), the
    /// checkpoint and dead-letter tables, and each table's trigger. Safe to run again: tables are
    /// created when missing, triggers replaced (`CREATE OR ALTER`).
    public static func installTriggers(tables: [BridgeConfiguration.Table]) -> [String] {
        [
            """
            IF OBJECT_ID(N'\(changeLog)', N'U') IS NULL
            BEGIN
                CREATE TABLE \(changeLog) (
                    id BIGINT IDENTITY(1, 1) NOT NULL,
                    event_id UNIQUEIDENTIFIER NOT NULL DEFAULT NEWID(),
                    entity_type NVARCHAR(128) NOT NULL,
                    entity_id NVARCHAR(450) NOT NULL,
                    operation VARCHAR(6) NOT NULL,
                    before_image NVARCHAR(MAX) NULL,
                    after_image NVARCHAR(MAX) NULL,
                    tenant_id NVARCHAR(255) NULL,
                    captured_at DATETIME2(6) NOT NULL DEFAULT SYSUTCDATETIME(),
                    published_at DATETIME2(6) NULL,
                    CONSTRAINT fraiseql_change_log_pk PRIMARY KEY (id));
                CREATE INDEX fraiseql_change_log_pending ON \(changeLog) (published_at, id);
                -- Row locks only: the bridge's reads skip rows of open transactions (READPAST),
                -- which a lock escalated to the whole table would not let them do.
                ALTER TABLE \(changeLog) SET (LOCK_ESCALATION = DISABLE);
            END
            """
        ] + bridgeTables + tables.map(trigger(for:))
    }

    /// `name`'s trigger: one per table, for the three operations (SQL Server triggers fire once
    /// per statement). `inserted` and `deleted` are each turned into JSON once (`FOR JSON AUTO`,
    /// whatever the columns: no re-install after `ALTER TABLE`), split into one object per row
    /// and paired on the key: an insert has no old row, a delete no new one (a key changed by an
    /// update reads as a delete and an insert). Rows go into the change log in statement order.
    static func trigger(for table: BridgeConfiguration.Table) -> String {
        let (schema, name) = nameParts(table.table)
        let trigger = "\(TDSConnection.identifier(schema)).\(TDSConnection.identifier(triggerName(table: name)))"
        func path(_ column: String) -> String {
            TDSConnection.literal("$.\"" + column.replacingOccurrences(of: "\"", with: "\\\"") + "\"")
        }
        // What the images keep: the included columns (plus the key and the tenant, read and then
        // removed), minus the excluded ones.
        var selected = "*"
        var removed = table.excludeColumns
        if !table.includeColumns.isEmpty {
            let helpers = [table.idColumn] + (table.tenantColumn.map { [$0] } ?? [])
            selected = (table.includeColumns + helpers.filter { !table.includeColumns.contains($0) })
                .map(TDSConnection.identifier).joined(separator: ", ")
            removed += helpers.filter { !table.includeColumns.contains($0) }
        }
        var image = "[value]"
        for column in removed { image = "JSON_MODIFY(\(image), \(path(column)), NULL)" }
        let tenant = table.tenantColumn.map { "JSON_VALUE([value], \(path($0)))" } ?? "CAST(NULL AS NVARCHAR(255))"
        func rows(_ variable: String) -> String {
            """
            (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], \(path(table.idColumn))) AS entity_id,
                        \(tenant) AS tenant_id, \(image) AS image
                       FROM OPENJSON(\(variable)))
            """
        }
        return """
            CREATE OR ALTER TRIGGER \(trigger) ON \(qualified(table.table))
            AFTER INSERT, UPDATE, DELETE AS
            BEGIN
                SET NOCOUNT ON;
                IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
                DECLARE @new NVARCHAR(MAX) = (SELECT \(selected) FROM inserted FOR JSON AUTO, INCLUDE_NULL_VALUES);
                DECLARE @old NVARCHAR(MAX) = (SELECT \(selected) FROM deleted FOR JSON AUTO, INCLUDE_NULL_VALUES);
                INSERT INTO \(changeLog) (entity_type, entity_id, operation, before_image, after_image, tenant_id)
                SELECT \(TDSConnection.literal(table.entity)), COALESCE(n.entity_id, o.entity_id),
                       CASE WHEN o.entity_id IS NULL THEN 'insert' WHEN n.entity_id IS NULL THEN 'delete' ELSE 'update' END,
                       o.image, n.image, COALESCE(n.tenant_id, o.tenant_id)
                  FROM \(rows("@new")) AS n
                  FULL OUTER JOIN \(rows("@old")) AS o ON o.entity_id = n.entity_id
                 ORDER BY COALESCE(n.position, o.position);
            END
            """
    }

    /// `table` or `schema.table` → (schema, table), schema `dbo` by default.
    static func nameParts(_ table: String) -> (schema: String, table: String) {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : ("dbo", parts[0])
    }

    /// The trigger's name for `table` (at most 128 characters, unique per table).
    static func triggerName(table: String) -> String {
        let name = "fraiseql_capture_\(table)"
        guard name.count > 128 else { return name }
        let digest = SHA256.hash(data: Data(table.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return "fraiseql_capture_\(digest)"
    }

    /// The session's settings: reads see what is committed, never wait long for a lock.
    static let changeLogSession = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCK_TIMEOUT 10000"

    /// Committed, unpublished rows after `after` in id order, skipping (not waiting for) rows of
    /// open transactions: id, event id, entity, key, operation, images, tenant, capture time in
    /// microseconds since 1970.
    static func pendingRows(after: Int64, limit: Int) -> String {
        """
        SELECT TOP (\(max(1, limit))) id, CONVERT(CHAR(36), event_id) AS event_id, entity_type, entity_id, operation,
               before_image, after_image, tenant_id, DATEDIFF_BIG(MICROSECOND, '19700101', captured_at) AS captured_us
          FROM \(changeLog) WITH (READCOMMITTEDLOCK, READPAST)
         WHERE published_at IS NULL AND id > \(after)
         ORDER BY id
        """
    }

    /// Unpublished ids in `(after, last]`, those of open transactions included (a dirty read).
    static func pendingIDsIncludingOpen(after: Int64, through last: Int64) -> String {
        """
        SELECT id FROM \(changeLog) WITH (NOLOCK)
         WHERE published_at IS NULL AND id > \(after) AND id <= \(last)
         ORDER BY id
        """
    }

    static func changeLogCheckpoint(transport: String) -> String {
        """
        SELECT version FROM \(checkpoints)
         WHERE transport = \(TDSConnection.literal(transport)) AND table_name = \(TDSConnection.literal(changeLogCheckpointRow))
        """
    }

    /// `ids` as ranges (`id BETWEEN a AND b OR …`): a batch's ids are mostly consecutive.
    static func idRanges(_ ids: [Int64]) -> String {
        var ranges: [(Int64, Int64)] = []
        for id in ids.sorted() {
            if let last = ranges.last, id <= last.1 + 1 {
                ranges[ranges.count - 1].1 = max(last.1, id)
            } else {
                ranges.append((id, id))
            }
        }
        return ranges.map { $0.0 == $0.1 ? "id = \($0.0)" : "id BETWEEN \($0.0) AND \($0.1)" }
            .joined(separator: " OR ")
    }

    /// Marks `ids` published and moves the checkpoint from `current` to `target` in one
    /// transaction; the result's `moved` is 1, or 0 (rolled back) when the checkpoint was no
    /// longer `current`.
    static func markPublished(ids: [Int64], transport: String, current: Int64?, target: Int64?) -> String {
        var lines = ["SET XACT_ABORT ON;", "BEGIN TRANSACTION;"]
        if !ids.isEmpty {
            lines.append(
                "UPDATE \(changeLog) SET published_at = SYSUTCDATETIME() WHERE published_at IS NULL AND (\(idRanges(ids)));"
            )
        }
        let transportText = TDSConnection.literal(transport)
        let row = "transport = \(transportText) AND table_name = \(TDSConnection.literal(changeLogCheckpointRow))"
        guard let target, target != current else {
            lines.append("COMMIT TRANSACTION;")
            lines.append("SELECT 1 AS moved")
            return lines.joined(separator: "\n")
        }
        if let current {
            lines.append(
                "UPDATE \(checkpoints) SET version = \(target), updated_at = SYSUTCDATETIME() WHERE \(row) AND version = \(current);"
            )
        } else {
            lines.append(
                "INSERT INTO \(checkpoints) (transport, table_name, version) SELECT \(transportText), \(TDSConnection.literal(changeLogCheckpointRow)), \(target) WHERE NOT EXISTS (SELECT 1 FROM \(checkpoints) WHERE \(row));"
            )
        }
        lines.append(
            "IF @@ROWCOUNT = 1 BEGIN COMMIT TRANSACTION; SELECT 1 AS moved; END ELSE BEGIN ROLLBACK TRANSACTION; SELECT 0 AS moved; END"
        )
        return lines.joined(separator: "\n")
    }

    /// A row that cannot be an event: recorded with its reason and marked, so the rows after it flow on.
    static func recordMalformed(
        transport: String, id: Int64, eventID: String, entityType: String, reason: String, row: String
    ) -> String {
        insertDeadLetter(
            transport: transport, changeID: String(id), eventID: eventID, entityType: entityType, reason: reason,
            event: row)
            + ";\nUPDATE \(changeLog) SET published_at = SYSUTCDATETIME() WHERE id = \(id)"
    }

    /// Deletes up to `limit` published rows captured more than `seconds` ago; the result is how many.
    static func purgePublished(olderThanSeconds seconds: Int64, limit: Int) -> String {
        """
        DELETE TOP (\(max(1, limit))) FROM \(changeLog)
         WHERE published_at IS NOT NULL AND captured_at < DATEADD(SECOND, -\(max(0, seconds)), SYSUTCDATETIME());
        SELECT @@ROWCOUNT AS purged
        """
    }

    /// Unpublished committed rows and the age of the oldest in microseconds.
    static let backlog = """
        SELECT COUNT_BIG(*) AS pending, COALESCE(DATEDIFF_BIG(MICROSECOND, MIN(captured_at), SYSUTCDATETIME()), 0) AS oldest_us
          FROM \(changeLog) WITH (READCOMMITTEDLOCK, READPAST)
         WHERE published_at IS NULL
        """
}
