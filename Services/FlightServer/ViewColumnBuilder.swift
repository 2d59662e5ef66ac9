import ArrowIPC
import Foundation
import NIOCore

/// Builds one Arrow column from PostgreSQL binary values (the format PostgresNIO asks for).
struct ViewColumnBuilder: Sendable {
    /// PostgreSQL's epoch (2000-01-01) in UNIX days and microseconds.
    static let epochDays: Int32 = 10_957
    static let epochMicroseconds: Int64 = 946_684_800_000_000

    private enum Storage: Sendable {
        case bool(BoolColumn)
        case int16(PrimitiveColumn<Int16>)
        case int32(PrimitiveColumn<Int32>)
        case int64(PrimitiveColumn<Int64>)
        case float32(FloatColumn<Float>)
        case float64(FloatColumn<Double>)
        case decimal(PrimitiveColumn<Int128>)
        case binary(BinaryColumn<Int32>)
        case uuid(FixedSizeBinaryColumn)
    }

    let kind: ViewColumn.Kind
    private var storage: Storage
    /// For a list: its offsets; the elements are in `elements`.
    private var list: ListColumn<Int>?
    private var elements: [ViewColumnBuilder] = []

    init(_ kind: ViewColumn.Kind) {
        self.kind = kind
        switch kind {
        case .bool: storage = .bool(BoolColumn())
        case .int16: storage = .int16(PrimitiveColumn())
        case .int32, .date: storage = .int32(PrimitiveColumn())
        case .int64, .timestamp, .timestamptz: storage = .int64(PrimitiveColumn())
        case .float32: storage = .float32(FloatColumn())
        case .float64: storage = .float64(FloatColumn())
        case .decimal: storage = .decimal(PrimitiveColumn())
        case .text, .json, .bytes: storage = .binary(BinaryColumn())
        case .uuid: storage = .uuid(FixedSizeBinaryColumn(byteWidth: 16))
        case .list(let element):
            storage = .int32(PrimitiveColumn())
            list = ListColumn(elements: 0)
            elements = [ViewColumnBuilder(element)]
        }
    }

    /// Appends one value (nil: NULL) in PostgreSQL's binary format.
    mutating func append(_ value: ByteBuffer?) throws {
        if list != nil { return try appendList(value) }
        guard var value else { return appendNull() }
        switch (kind, storage) {
        case (_, .bool(var column)):
            column.append(value.readInteger(as: UInt8.self).map { $0 != 0 })
            storage = .bool(column)
        case (_, .int16(var column)):
            column.append(value.readInteger(as: Int16.self))
            storage = .int16(column)
        case (.date, .int32(var column)):
            column.append(value.readInteger(as: Int32.self).map { $0 &+ Self.epochDays })
            storage = .int32(column)
        case (_, .int32(var column)):
            column.append(value.readInteger(as: Int32.self))
            storage = .int32(column)
        case (.timestamp, .int64(var column)), (.timestamptz, .int64(var column)):
            column.append(value.readInteger(as: Int64.self).map { $0 &+ Self.epochMicroseconds })
            storage = .int64(column)
        case (_, .int64(var column)):
            column.append(value.readInteger(as: Int64.self))
            storage = .int64(column)
        case (_, .float32(var column)):
            column.append(value.readInteger(as: UInt32.self).map(Float.init(bitPattern:)))
            storage = .float32(column)
        case (_, .float64(var column)):
            column.append(value.readInteger(as: UInt64.self).map(Double.init(bitPattern:)))
            storage = .float64(column)
        case (.decimal(_, let scale), .decimal(var column)):
            column.append(try Self.numeric(&value, scale: scale))
            storage = .decimal(column)
        case (_, .binary(var column)):
            column.append(bytes: value.readableBytesView)
            storage = .binary(column)
        case (_, .uuid(var column)):
            column.append(value.readBytes(length: 16))
            storage = .uuid(column)
        default:
            appendNull()
        }
    }

    mutating func appendNull() {
        switch storage {
        case .bool(var column): column.append(nil); storage = .bool(column)
        case .int16(var column): column.append(nil); storage = .int16(column)
        case .int32(var column): column.append(nil); storage = .int32(column)
        case .int64(var column): column.append(nil); storage = .int64(column)
        case .float32(var column): column.append(nil); storage = .float32(column)
        case .float64(var column): column.append(nil); storage = .float64(column)
        case .decimal(var column): column.append(nil); storage = .decimal(column)
        case .binary(var column): column.appendNull(); storage = .binary(column)
        case .uuid(var column): column.appendNull(); storage = .uuid(column)
        }
    }

    /// A one-dimensional array: ndim, has-null flag, element oid, then per dimension its size and
    /// lower bound, then each element as a length (-1: NULL) and its bytes.
    private mutating func appendList(_ value: ByteBuffer?) throws {
        guard var value else { return list!.appendNull() }
        guard let dimensions = value.readInteger(as: Int32.self), value.readInteger(as: Int32.self) != nil,
            value.readInteger(as: UInt32.self) != nil
        else { throw ViewReadError("a malformed array value") }
        var count = 0
        if dimensions == 1 {
            guard let size = value.readInteger(as: Int32.self), value.readInteger(as: Int32.self) != nil else {
                throw ViewReadError("a malformed array value")
            }
            count = Int(size)
        } else if dimensions > 1 {
            throw ViewReadError("arrays of more than one dimension are not supported")
        }
        for _ in 0..<count {
            guard let length = value.readInteger(as: Int32.self) else { throw ViewReadError("a malformed array value") }
            if length < 0 {
                try elements[0].append(nil)
            } else {
                guard let element = value.readSlice(length: Int(length)) else {
                    throw ViewReadError("a malformed array value")
                }
                try elements[0].append(element)
            }
        }
        list!.elements += count
        list!.closeList(elementCount: list!.elements)
    }

    mutating func finish() -> ArrowArray {
        if list != nil {
            let child = elements[0].finish()
            list!.elements = 0
            return list!.finish(child: child)
        }
        switch storage {
        case .bool(var column): defer { storage = .bool(column) }; return column.finish()
        case .int16(var column): defer { storage = .int16(column) }; return column.finish()
        case .int32(var column): defer { storage = .int32(column) }; return column.finish()
        case .int64(var column): defer { storage = .int64(column) }; return column.finish()
        case .float32(var column): defer { storage = .float32(column) }; return column.finish()
        case .float64(var column): defer { storage = .float64(column) }; return column.finish()
        case .decimal(var column): defer { storage = .decimal(column) }; return column.finish()
        case .binary(var column): defer { storage = .binary(column) }; return column.finish()
        case .uuid(var column): defer { storage = .uuid(column) }; return column.finish()
        }
    }

    /// PostgreSQL's binary `numeric`: digit count, weight (of the first base-10000 digit), sign,
    /// display scale, then the digits; as the unscaled integer of a decimal with `scale` places.
    static func numeric(_ value: inout ByteBuffer, scale: Int) throws -> Int128? {
        guard let count = value.readInteger(as: Int16.self), let weight = value.readInteger(as: Int16.self),
            let sign = value.readInteger(as: UInt16.self), value.readInteger(as: Int16.self) != nil
        else { throw ViewReadError("a malformed numeric value") }
        if sign == 0xC000 || sign == 0xD000 || sign == 0xF000 { return nil }  // NaN, ±Infinity
        var result: Int128 = 0
        for index in 0..<Int(count) {
            guard let digit = value.readInteger(as: Int16.self) else {
                throw ViewReadError("a malformed numeric value")
            }
            // This digit is worth digit × 10000^(weight - index) × 10^scale in the unscaled integer.
            let exponent = 4 * (Int(weight) - index) + scale
            if exponent >= 0 {
                var term = Int128(digit)
                for _ in 0..<exponent {
                    let (product, overflow) = term.multipliedReportingOverflow(by: 10)
                    guard !overflow else { throw ViewReadError("a numeric value beyond 38 digits") }
                    term = product
                }
                let (sum, overflow) = result.addingReportingOverflow(term)
                guard !overflow else { throw ViewReadError("a numeric value beyond 38 digits") }
                result = sum
            } else {
                var divisor: Int128 = 1
                for _ in 0..<(-exponent) { divisor *= 10 }
                result += Int128(digit) / divisor
            }
        }
        return sign == 0x4000 ? -result : result
    }
}
