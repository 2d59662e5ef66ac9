/// A FlatBuffers builder for the Arrow IPC metadata: tables, strings, vectors of offsets, of
/// 16-byte structs and of scalars, written back to front as the FlatBuffers format expects
/// (a child is written before the table that points at it; an offset always points forward).
///
/// Positions handed out (``Offset``) count bytes from the end of the buffer, so they stay valid
/// while the buffer grows at the front. Every scalar is aligned to its size relative to the end;
/// ``finish(root:)`` pads the front to the largest alignment used, so alignment also holds from
/// the start of the finished bytes. Vtables are not shared between tables (Arrow messages are small).
struct FlatBufferBuilder {
    /// A position counted from the end of the buffer.
    struct Offset: Equatable {
        fileprivate let value: Int
    }

    /// Storage filled from the end; `storage[head...]` holds the bytes written so far.
    private var storage: [UInt8]
    private var head: Int
    private var minimumAlignment = 1
    /// Field positions of the table being built, by slot (0: absent).
    private var fields: [Int] = []
    private var tableStart = 0
    private var inTable = false

    init(capacity: Int = 1024) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
        head = storage.count
    }

    /// Bytes written so far.
    var size: Int { storage.count - head }

    private mutating func ensure(_ count: Int) {
        guard head < count else { return }
        let used = size
        var capacity = storage.count
        while capacity - used < count { capacity *= 2 }
        var grown = [UInt8](repeating: 0, count: capacity)
        grown.withUnsafeMutableBufferPointer { target in
            storage.withUnsafeBufferPointer { source in
                for index in 0..<used { target[capacity - used + index] = source[head + index] }
            }
        }
        storage = grown
        head = capacity - used
    }

    private mutating func pad(_ count: Int) {
        ensure(count)
        for _ in 0..<count {
            head -= 1
            storage[head] = 0
        }
    }

    /// Pads so that, once `additional` more bytes are written, a value of `alignment` bytes lands aligned.
    private mutating func prepare(alignment: Int, additional: Int) {
        minimumAlignment = max(minimumAlignment, alignment)
        let padding = (~(size + additional) &+ 1) & (alignment - 1)
        pad(padding)
    }

    private mutating func place<T: FixedWidthInteger>(_ value: T) {
        let width = MemoryLayout<T>.size
        ensure(width)
        head -= width
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { bytes in
            for index in 0..<width { storage[head + index] = bytes[index] }
        }
    }

    private mutating func push<T: FixedWidthInteger>(_ value: T) {
        prepare(alignment: MemoryLayout<T>.size, additional: 0)
        place(value)
    }

    /// An offset to `target`, stored relative to where it is written.
    private mutating func pushOffset(_ target: Offset) {
        prepare(alignment: 4, additional: 0)
        precondition(target.value <= size, "an offset must point at something already written")
        place(UInt32(size - target.value + 4))
    }

    // MARK: Strings and vectors

    mutating func string(_ text: String) -> Offset {
        let bytes = Array(text.utf8)
        prepare(alignment: 4, additional: bytes.count + 1)
        place(UInt8(0))
        ensure(bytes.count)
        head -= bytes.count
        for (index, byte) in bytes.enumerated() { storage[head + index] = byte }
        place(UInt32(bytes.count))
        return Offset(value: size)
    }

    mutating func vector(of offsets: [Offset]) -> Offset {
        prepare(alignment: 4, additional: 4 * offsets.count)
        for offset in offsets.reversed() { pushOffset(offset) }
        place(UInt32(offsets.count))
        return Offset(value: size)
    }

    mutating func vector(ofInt64 values: [Int64]) -> Offset {
        prepare(alignment: 4, additional: 8 * values.count)
        prepare(alignment: 8, additional: 8 * values.count)
        for value in values.reversed() { place(value) }
        place(UInt32(values.count))
        return Offset(value: size)
    }

    /// A vector of structs of two int64 fields each (Arrow's `FieldNode` and `Buffer`).
    mutating func vector(ofPairs pairs: [(Int64, Int64)]) -> Offset {
        prepare(alignment: 4, additional: 16 * pairs.count)
        prepare(alignment: 8, additional: 16 * pairs.count)
        for (first, second) in pairs.reversed() {
            place(second)
            place(first)
        }
        place(UInt32(pairs.count))
        return Offset(value: size)
    }

    // MARK: Tables

    mutating func startTable(slots: Int) {
        precondition(!inTable, "tables do not nest while being built")
        fields = [Int](repeating: 0, count: slots)
        tableStart = size
        inTable = true
    }

    /// A scalar field; left out when it equals `defaultValue` (readers then see the default).
    mutating func add<T: FixedWidthInteger>(_ slot: Int, _ value: T, default defaultValue: T? = 0) {
        if let defaultValue, value == defaultValue { return }
        push(value)
        fields[slot] = size
    }

    mutating func add(_ slot: Int, _ value: Bool, default defaultValue: Bool? = false) {
        if let defaultValue, value == defaultValue { return }
        push(UInt8(value ? 1 : 0))
        fields[slot] = size
    }

    mutating func add(_ slot: Int, _ offset: Offset?) {
        guard let offset else { return }
        pushOffset(offset)
        fields[slot] = size
    }

    mutating func endTable() -> Offset {
        precondition(inTable)
        push(Int32(0))  // the table's offset to its vtable, set below
        let table = size
        let used = (fields.lastIndex { $0 != 0 } ?? -1) + 1
        for slot in stride(from: used - 1, through: 0, by: -1) {
            let field = fields[slot]
            place(UInt16(field == 0 ? 0 : table - field))
        }
        place(UInt16(table - tableStart))
        place(UInt16((used + 2) * 2))
        let vtable = size
        // soffset: the vtable lies `vtable - table` bytes before the table.
        var distance = Int32(vtable - table).littleEndian
        let position = storage.count - table
        withUnsafeBytes(of: &distance) { bytes in
            for index in 0..<4 { storage[position + index] = bytes[index] }
        }
        inTable = false
        return Offset(value: table)
    }

    /// The finished buffer: the root table's offset first.
    mutating func finish(root: Offset) -> [UInt8] {
        prepare(alignment: max(minimumAlignment, 8), additional: 4)
        pushOffset(root)
        return Array(storage[head...])
    }
}
