import BridgeEngine
import Crypto
import Foundation
import MariaDB

/// The change log's tables in the MySQL / MariaDB database (the `[mysql] url`'s database) and the
/// capture triggers: the one owner of their names and DDL.
public enum MySQLChangeLogSchema {
    public static let changeLog = "fraiseql_change_log"
    public static let checkpoints = "fraiseql_bridge_checkpoints"
    public static let deadLetters = "fraiseql_bridge_dead_letters"

    /// The tables, created when missing (re-running is safe; existing rows are kept).
    static let tables = [
        """
        CREATE TABLE IF NOT EXISTS \(changeLog) (
          id BIGINT NOT NULL AUTO_INCREMENT,
          event_id CHAR(36) CHARACTER SET ascii NOT NULL,
          entity_type VARCHAR(128) NOT NULL,
          entity_id VARCHAR(512) NOT NULL,
          operation ENUM('insert', 'update', 'delete') NOT NULL,
          before_image LONGTEXT NULL,
          after_image LONGTEXT NULL,
          tenant_id VARCHAR(255) NULL,
          captured_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
          published_at TIMESTAMP(6) NULL DEFAULT NULL,
          PRIMARY KEY (id),
          KEY \(changeLog)_pending (published_at, id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        """
        CREATE TABLE IF NOT EXISTS \(checkpoints) (
          transport VARCHAR(255) NOT NULL,
          checkpoint VARCHAR(255) NOT NULL,
          updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
          PRIMARY KEY (transport)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        """
        CREATE TABLE IF NOT EXISTS \(deadLetters) (
          transport VARCHAR(255) NOT NULL,
          change_id VARCHAR(255) NOT NULL,
          event_id CHAR(36) CHARACTER SET ascii NOT NULL,
          entity_type VARCHAR(128) NOT NULL,
          reason TEXT NOT NULL,
          event LONGTEXT NOT NULL,
          created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
          PRIMARY KEY (transport, change_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
    ]

    /// `table` or `schema.table`, split; nil when malformed.
    public static func nameParts(_ name: String) -> (schema: String?, table: String)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 }) else {
            return nil
        }
        return parts.count == 2 ? (parts[0], parts[1]) : (nil, parts[0])
    }

    /// The trigger's name for `table` and `operation` (at most 64 characters, unique per table).
    static func triggerName(table: String, operation: String) -> String {
        let name = "fraiseql_\(table)_\(operation)"
        guard name.utf8.count > 64 else { return name }
        let digest = SHA256.hash(data: Data(table.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "fraiseql_\(digest)_\(operation)"
    }

    /// The leader lock's name for `transport` (`GET_LOCK` names are at most 64 characters).
    static func lockName(transport: String) -> String {
        let name = "fraiseql_bridge:\(transport)"
        guard name.utf8.count > 64 else { return name }
        return "fraiseql_bridge:"
            + SHA256.hash(data: Data(transport.utf8)).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
    }
}
