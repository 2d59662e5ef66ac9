/// One column's data for a batch, as the IPC body lists it: a node (length, null count) and its
/// buffers in the format's order (validity first), then its children's.
public struct ArrowArray: Sendable {
    public var length: Int
    public var nullCount: Int
    /// The buffers in IPC order; an empty validity buffer when there is no null.
    public var buffers: [[UInt8]]
    public var children: [ArrowArray]

    @inlinable
    public init(length: Int, nullCount: Int, buffers: [[UInt8]], children: [ArrowArray] = []) {
        self.length = length
        self.nullCount = nullCount
        self.buffers = buffers
        self.children = children
    }

    /// Bytes held by the buffers, its children's included.
    @inlinable
    public var byteCount: Int {
        buffers.reduce(0) { $0 + $1.count } + children.reduce(0) { $0 + $1.byteCount }
    }
}
