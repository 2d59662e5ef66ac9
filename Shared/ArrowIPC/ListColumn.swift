/// A `list` column: 32-bit offsets into a child column that holds every element.
public struct ListColumn<Element: Sendable>: Sendable {
    @usableFromInline var offsets: [Int32] = [0]
    @usableFromInline var validity = ValidityBitmap()
    /// The elements of every list so far.
    public var elements: Element

    @inlinable
    public init(elements: Element) { self.elements = elements }

    @inlinable
    public var count: Int { offsets.count - 1 }

    /// Closes a list whose elements were appended to ``elements`` since the last call;
    /// `elementCount` is how many elements the child holds now.
    @inlinable
    public mutating func closeList(elementCount: Int) {
        offsets.append(Int32(elementCount))
        validity.append(true)
    }

    @inlinable
    public mutating func appendNull() {
        offsets.append(offsets[offsets.count - 1])
        validity.append(false)
    }

    /// The batch's array, with `child` (the elements' array) as its child.
    @inlinable
    public mutating func finish(child: ArrowArray) -> ArrowArray {
        let (bitmap, nulls) = validity.take()
        let array = ArrowArray(
            length: offsets.count - 1, nullCount: nulls, buffers: [bitmap, offsets.withUnsafeBytes { Array($0) }],
            children: [child])
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        return array
    }
}
