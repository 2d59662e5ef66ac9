import ArrowIPC
import Foundation
import NIOCore

/// Builds one Arrow column from PostgreSQL binary values (the format PostgresNIO asks for).
struct ViewColumnBuilder: Sendable {
    /// PostgreSQL's epoch (2000-01-01) in UNIX days and microseconds.
    static let epochDays: Int32 = 10_957
    static let epochMicroseconds: Int64 = 946_684_800_000_000

    // One of these holds the column (the others stay nil); each is mutated in place (an enum
    // payload would be copied, with its whole buffer, on every append).
    private var bools: BoolColumn?
    private var int16s: PrimitiveColumn<Int16>?
    private var int32s: PrimitiveColumn<Int32>?
    private var int64s: PrimitiveColumn<Int64>?
    private var float32s: PrimitiveColumn<Float>?
    private var float64s: PrimitiveColumn<Double>?
    private var decimals: PrimitiveColumn<Int128>?
    private var binaries: BinaryColumn<Int32>?
    private var uuids: FixedSizeBinaryColumn?

    let kind: ViewColumn.Kind
    /// For a list: its offsets; the elements are in `elements`.
    private var list: ListColumn<Int>?
    private var elements: [ViewColumnBuilder] = []

    init(_ kind: ViewColumn.Kind) {
        self.kind = kind
        switch kind {
        case .bool: bools = BoolColumn()
        case .int16: int16s = PrimitiveColumn()
        case .int32, .date: int32s = PrimitiveColumn()
        case .int64, .timestamp, .timestamptz: int64s = PrimitiveColumn()
        case .float32: float32s = PrimitiveColumn()
        case .float64: float64s = PrimitiveColumn()
        case .decimal: decimals = PrimitiveColumn()
        case .text, .json, .bytes: binaries = BinaryColumn()
        case .uuid: uuids = FixedSizeBinaryColumn(byteWidth: 16)
        case .list(let element):
            list = ListColumn(elements: 0)
            elements = [ViewColumnBuilder(element)]
        }
    }

    /// Appends one value (nil: NULL) in PostgreSQL's binary format.
    mutating func append(_ value: ByteBuffer?) throws {
        guard let value else { return appendNull() }
        // One read of the buffer's storage per value: every field below is read from the raw
        // bytes (ByteBuffer's own reads check exclusive access to its storage each time).
        try value.withUnsafeReadableBytes { try append(raw: $0) }
    }

    /// Appends one non-NULL value from its bytes in PostgreSQL's binary format.
    mutating func append(raw value: UnsafeRawBufferPointer) throws {
        if list != nil { return try appendList(value) }
        switch kind {
        case .bool: bools!.append(value.count >= 1 ? value[0] != 0 : nil)
        case .int16: int16s!.append(Self.integer(value, as: Int16.self))
        case .date: int32s!.append(Self.integer(value, as: Int32.self).map { $0 &+ Self.epochDays })
        case .int32: int32s!.append(Self.integer(value, as: Int32.self))
        case .timestamp, .timestamptz:
            int64s!.append(Self.integer(value, as: Int64.self).map { $0 &+ Self.epochMicroseconds })
        case .int64: int64s!.append(Self.integer(value, as: Int64.self))
        case .float32: float32s!.append(Self.integer(value, as: UInt32.self).map(Float.init(bitPattern:)))
        case .float64: float64s!.append(Self.integer(value, as: UInt64.self).map(Double.init(bitPattern:)))
        case .decimal(_, let scale): decimals!.append(try Self.numeric(value, scale: scale))
        case .text, .json, .bytes: binaries!.append(raw: value)
        case .uuid: uuids!.append(value.count >= 16 ? UnsafeRawBufferPointer(rebasing: value.prefix(16)) : nil)
        case .list: break
        }
    }

    /// A big-endian integer at `offset` (nil when the value is too short).
    @inline(__always)
    static func integer<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0, as: T.Type) -> T? {
        guard offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func appendNull() {
        switch kind {
        case .bool: bools!.append(nil)
        case .int16: int16s!.append(nil)
        case .int32, .date: int32s!.append(nil)
        case .int64, .timestamp, .timestamptz: int64s!.append(nil)
        case .float32: float32s!.append(nil)
        case .float64: float64s!.append(nil)
        case .decimal: decimals!.append(nil)
        case .text, .json, .bytes: binaries!.appendNull()
        case .uuid: uuids!.appendNull()
        case .list: list!.appendNull()
        }
    }

    /// A one-dimensional array: ndim, has-null flag, element oid, then per dimension its size and
    /// lower bound, then each element as a length (-1: NULL) and its bytes.
    private mutating func appendList(_ value: UnsafeRawBufferPointer) throws {
        guard let dimensions = Self.integer(value, as: Int32.self), value.count >= 12 else {
            throw ViewReadError("a malformed array value")
        }
        var offset = 12
        var count = 0
        if dimensions == 1 {
            guard let size = Self.integer(value, at: offset, as: Int32.self), value.count >= offset + 8 else {
                throw ViewReadError("a malformed array value")
            }
            count = Int(size)
            offset += 8
        } else if dimensions > 1 {
            throw ViewReadError("arrays of more than one dimension are not supported")
        }
        for _ in 0..<count {
            guard let length = Self.integer(value, at: offset, as: Int32.self) else {
                throw ViewReadError("a malformed array value")
            }
            offset += 4
            if length < 0 {
                elements[0].appendNull()
            } else {
                guard offset + Int(length) <= value.count else { throw ViewReadError("a malformed array value") }
                try elements[0].append(raw: UnsafeRawBufferPointer(rebasing: value[offset..<(offset + Int(length))]))
                offset += Int(length)
            }
        }
        list!.elements += count
        list!.closeList(elementCount: list!.elements)
    }

    mutating func finish() -> ArrowArray {
        switch kind {
        case .bool: return bools!.finish()
        case .int16: return int16s!.finish()
        case .int32, .date: return int32s!.finish()
        case .int64, .timestamp, .timestamptz: return int64s!.finish()
        case .float32: return float32s!.finish()
        case .float64: return float64s!.finish()
        case .decimal: return decimals!.finish()
        case .text, .json, .bytes: return binaries!.finish()
        case .uuid: return uuids!.finish()
        case .list:
            let child = elements[0].finish()
            list!.elements = 0
            return list!.finish(child: child)
        }
    }

    /// PostgreSQL's binary `numeric`: digit count, weight (of the first base-10000 digit), sign,
    /// display scale, then the digits; as the unscaled integer of a decimal with `scale` places.
    static func numeric(_ value: UnsafeRawBufferPointer, scale: Int) throws -> Int128? {
        guard let count = integer(value, as: Int16.self), let weight = integer(value, at: 2, as: Int16.self),
            let sign = integer(value, at: 4, as: UInt16.self), value.count >= 8
        else { throw ViewReadError("a malformed numeric value") }
        if sign == 0xC000 || sign == 0xD000 || sign == 0xF000 { return nil }  // NaN, ±Infinity
        var result: Int128 = 0
        for index in 0..<Int(count) {
            guard let digit = integer(value, at: 8 + 2 * index, as: Int16.self) else {
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
