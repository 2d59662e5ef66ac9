import Contracts
import Foundation

/// The workload of the column-type tests: two tables with every column type mysql-bridge
/// captures, the statements run on them, and the images they must produce (what the test wrote,
/// in the documented JSON forms).
enum MySQLColumnTypes {
    static let kindsTable = """
        CREATE TABLE kinds (
          id INT PRIMARY KEY,
          t TINYINT, tu TINYINT UNSIGNED, s SMALLINT, su SMALLINT UNSIGNED, m MEDIUMINT, mu MEDIUMINT UNSIGNED,
          i INT, iu INT UNSIGNED, b BIGINT, bu BIGINT UNSIGNED,
          d DECIMAL(12,3), d0 DECIMAL(30,0), dn DECIMAL(5,2),
          f FLOAT, g DOUBLE,
          dt DATE, tm TIME(3), tmn TIME, tm2 TIME(2), tm1 TIME(1), dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(3) NULL, y YEAR,
          c CHAR(5), vc VARCHAR(300), tx TEXT, lt VARCHAR(20) CHARACTER SET latin1,
          bn BINARY(4), vb VARBINARY(10), bl BLOB,
          e ENUM('small', 'large'), st SET('a', 'b', 'c'), bt BIT(10), j JSON, n VARCHAR(10) NULL
        ) DEFAULT CHARSET = utf8mb4
        """

    static let notesTable = """
        CREATE TABLE notes (
          id VARCHAR(36) PRIMARY KEY, tenant VARCHAR(20), body TEXT, amount DECIMAL(10,2), secret VARCHAR(20)
        ) DEFAULT CHARSET = utf8mb4
        """

    static let tables = [
        "table = \"kinds\"\nentity = \"kind\"",
        "table = \"notes\"\nentity = \"note\"\ntenant_column = \"tenant\"\nexclude_columns = [\"secret\"]",
    ]

    /// The statements, in order (one session, time zone +02:00 for the TIMESTAMP).
    static let statements = [
        "SET time_zone = '+02:00'",
        """
        INSERT INTO kinds VALUES (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
          -9223372036854775808, 18446744073709551615, -12345.678, 123456789012345678901234567890, 0.5,
          1.5, -2.25e-10, '2024-02-29', '-12:34:56.789', '100:00:01', '-00:00:01.25', '838:59:58.5', '2024-01-02 03:04:05.123456',
          '1999-12-31 23:59:59', '2024-06-01 12:00:00.250', 2024, 'ab', 'héllo wörld ✓', 'line1\\nline2',
          'café', x'0102', x'00ff', x'deadbeef', 'large', 'a,c', b'1000000001',
          '{"k": [1, "x", null], "n": 1.5}', NULL)
        """,
        "INSERT INTO kinds (id) VALUES (2)",
        "INSERT INTO kinds (id, vc, f) VALUES (3, 'three', 0.25), (4, 'four', 0.1), (5, 'five', NULL)",
        "UPDATE kinds SET vc = 'changed', d = 0.001, ts = '2030-01-01 00:00:00', j = '[true, false]', st = '' WHERE id = 1",
        "UPDATE kinds SET t = 0, e = 'small', bt = b'0', bl = x'' WHERE id = 2",
        "DELETE FROM kinds WHERE id = 2",
        "INSERT INTO notes VALUES ('n-1', 'acme', 'first note', 10.50, 'hidden')",
        "UPDATE notes SET body = 'second', amount = 0 WHERE id = 'n-1'",
        "DELETE FROM notes WHERE id = 'n-1'",
    ]

    /// How many events the statements produce.
    static let eventCount = 11

    static let nullRow: [String: JSONValue] = Dictionary(
        uniqueKeysWithValues: [
            "t", "tu", "s", "su", "m", "mu", "i", "iu", "b", "bu", "d", "d0", "dn", "f", "g", "dt", "tm", "tmn", "tm2",
            "tm1", "dtm",
            "dtm0", "ts", "y", "c", "vc", "tx", "lt", "bn", "vb", "bl", "e", "st", "bt", "j", "n",
        ].map { ($0, JSONValue.null) })

    /// Row 1 as inserted.
    static let first: [String: JSONValue] = [
        "id": .int(1), "t": .int(-128), "tu": .int(255), "s": .int(-32768), "su": .int(65535), "m": .int(-8_388_608),
        "mu": .int(16_777_215), "i": .int(-2_147_483_648), "iu": .int(4_294_967_295), "b": .int(Int64.min),
        "bu": .double(Double(UInt64.max)), "d": .double(-12345.678), "d0": .double(1.2345678901234568e29),
        "dn": .double(0.5), "f": .double(1.5), "g": .double(-2.25e-10), "dt": .string("2024-02-29"),
        "tm": .string("-12:34:56.789"), "tmn": .string("100:00:01"), "tm2": .string("-00:00:01.25"),
        "tm1": .string("838:59:58.5"), "dtm": .string("2024-01-02 03:04:05.123456"),
        "dtm0": .string("1999-12-31 23:59:59"), "ts": .string("2024-06-01 10:00:00.250"), "y": .int(2024),
        "c": .string("ab"), "vc": .string("héllo wörld ✓"), "tx": .string("line1\nline2"), "lt": .string("café"),
        "bn": .string("\\x01020000"), "vb": .string("\\x00ff"), "bl": .string("\\xdeadbeef"), "e": .string("large"),
        "st": .string("a,c"), "bt": .int(513),
        "j": .object(["k": .array([.int(1), .string("x"), .null]), "n": .double(1.5)]), "n": .null,
    ]

    /// The images each event must carry, in order: (entity, id, operation, before, after).
    static var expected: [(String, String, Contracts.Operation, [String: JSONValue]?, [String: JSONValue]?)] {
        var second = nullRow
        second["id"] = .int(2)
        var secondUpdated = second
        secondUpdated["t"] = .int(0)
        secondUpdated["e"] = .string("small")
        secondUpdated["bt"] = .int(0)
        secondUpdated["bl"] = .string("\\x")
        func small(_ id: Int64, _ text: String, _ float: JSONValue) -> [String: JSONValue] {
            var row = nullRow
            row["id"] = .int(id)
            row["vc"] = .string(text)
            row["f"] = float
            return row
        }
        var firstUpdated = first
        firstUpdated["vc"] = .string("changed")
        firstUpdated["d"] = .double(0.001)
        firstUpdated["ts"] = .string("2029-12-31 22:00:00.000")
        firstUpdated["j"] = .array([.bool(true), .bool(false)])
        firstUpdated["st"] = .string("")
        let note: [String: JSONValue] = [
            "id": .string("n-1"), "tenant": .string("acme"), "body": .string("first note"), "amount": .double(10.5),
        ]
        var noteUpdated = note
        noteUpdated["body"] = .string("second")
        noteUpdated["amount"] = .int(0)
        return [
            ("kind", "1", .insert, nil, first),
            ("kind", "2", .insert, nil, second),
            ("kind", "3", .insert, nil, small(3, "three", .double(0.25))),
            ("kind", "4", .insert, nil, small(4, "four", .double(0.1))),
            ("kind", "5", .insert, nil, small(5, "five", .null)),
            ("kind", "1", .update, first, firstUpdated),
            ("kind", "2", .update, second, secondUpdated),
            ("kind", "2", .delete, secondUpdated, nil),
            ("note", "n-1", .insert, nil, note),
            ("note", "n-1", .update, note, noteUpdated),
        ] + [("note", "n-1", .delete, noteUpdated, nil)]
    }
}
