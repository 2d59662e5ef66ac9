import ArrowIPC
import Foundation
import NIOCore

/// A column of an analytic view: its PostgreSQL type, the Arrow type it is sent as, and how a
/// value of it is decoded from PostgreSQL's binary format.
struct ViewColumn: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case bool, int16, int32, int64, float32, float64, text, json, bytes, date, timestamp, timestamptz, uuid
        case decimal(precision: Int, scale: Int)
        /// A one-dimensional array of `element` (itself not an array).
        indirect case list(Kind)
    }

    var name: String
    var kind: Kind
    /// Sent as text (`::text` in the query): a type with no Arrow mapping here.
    var castToText: Bool

    /// From `pg_attribute.atttypid`, `atttypmod` and, for arrays, the element type's oid.
    init(name: String, typeOID: UInt32, typeModifier: Int32, elementOID: UInt32) {
        self.name = name
        if let kind = Self.kind(typeOID, typeModifier) {
            self.kind = kind
            castToText = false
        } else if elementOID != 0, let element = Self.kind(elementOID, -1), element != .json {
            self.kind = .list(element)
            castToText = false
        } else {
            // json and jsonb too: their text is what clients want (the `arrow.json` type).
            self.kind = [114, 3802].contains(typeOID) ? .json : .text
            castToText = true
        }
    }

    private static func kind(_ oid: UInt32, _ modifier: Int32) -> Kind? {
        switch oid {
        case 16: .bool
        case 21: .int16
        case 23: .int32
        case 20: .int64
        case 700: .float32
        case 701: .float64
        case 25, 1043, 1042, 19: .text
        case 17: .bytes
        case 1082: .date
        case 1114: .timestamp
        case 1184: .timestamptz
        case 2950: .uuid
        case 1700 where modifier >= 4 && ((modifier - 4) >> 16) & 0xFFFF <= 38:
            .decimal(precision: Int(((modifier - 4) >> 16) & 0xFFFF), scale: Int((modifier - 4) & 0xFFFF))
        default: nil
        }
    }

    var field: ArrowField { ArrowField(name, Self.arrowType(kind)).withExtension(kind) }

    static func arrowType(_ kind: Kind) -> ArrowType {
        switch kind {
        case .bool: .bool
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .text, .json: .utf8
        case .bytes: .binary
        case .date: .date32
        case .timestamp: .timestampMicroseconds(timezone: nil)
        case .timestamptz: .timestampMicroseconds(timezone: "UTC")
        case .uuid: .fixedSizeBinary(byteWidth: 16)
        case .decimal(let precision, let scale): .decimal128(precision: precision, scale: scale)
        case .list(let element): .list(ArrowField("item", arrowType(element)))
        }
    }
}

extension ArrowField {
    fileprivate func withExtension(_ kind: ViewColumn.Kind) -> ArrowField {
        switch kind {
        case .json: extensionType("arrow.json")
        case .uuid: extensionType("arrow.uuid")
        default: self
        }
    }
}
