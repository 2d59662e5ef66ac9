/// A dictionary-encoded text column for low-cardinality values (entity, operation, source):
/// each value is an `int32` index into a dictionary that grows across batches. Before a batch
/// that uses new values, ``takeDictionaryDelta()`` gives the values added since the last call,
/// which the stream sends as a dictionary batch (a delta after the first).
public struct DictionaryColumn: Sendable {
    @usableFromInline var indexes: [String: Int32] = [:]
    @usableFromInline var pending = UTF8Column()
    @usableFromInline var sent = 0
    @usableFromInline var indices = PrimitiveColumn<Int32>()
    /// The last value appended and its index: runs of one value (the usual case for a stream's
    /// source, entity and operation) skip the hash lookup.
    @usableFromInline var last: (value: String, index: Int32)?

    @inlinable
    public init() {}

    @inlinable
    public var count: Int { indices.count }
    /// Distinct values so far.
    @inlinable
    public var dictionarySize: Int { indexes.count }

    @inlinable
    public mutating func append(_ value: String?) {
        guard let value else { return indices.append(nil) }
        if let last, last.value == value { return indices.append(last.index) }
        if let index = indexes[value] {
            last = (value, index)
            return indices.append(index)
        }
        let index = Int32(indexes.count)
        last = (value, index)
        indexes[value] = index
        pending.append(value)
        indices.append(index)
    }

    /// Appends a value given as its UTF-8 bytes: a run of one value compares bytes, with no
    /// string made.
    @inlinable
    public mutating func append(utf8 value: UnsafeBufferPointer<UInt8>) {
        if let last, last.value.utf8.count == value.count,
            last.value.utf8.withContiguousStorageIfAvailable({ $0.elementsEqual(value) })
                ?? last.value.utf8.elementsEqual(value)
        {
            return indices.append(last.index)
        }
        append(String(decoding: value, as: UTF8.self))
    }

    /// The values added since the last call (nil when none), and whether they extend a
    /// dictionary already sent.
    @inlinable
    public mutating func takeDictionaryDelta() -> (values: ArrowArray, isDelta: Bool)? {
        guard pending.count > 0 else { return nil }
        let isDelta = sent > 0
        sent += pending.count
        return (pending.finish(), isDelta)
    }

    /// The batch's indices; the dictionary is kept.
    @inlinable
    public mutating func finish() -> ArrowArray { indices.finish() }
}
