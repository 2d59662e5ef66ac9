/// The columns of a stream, and metadata for the whole schema.
public struct ArrowSchema: Sendable, Hashable {
    public var fields: [ArrowField]
    public var metadata: [ArrowField.KeyValue]

    public init(_ fields: [ArrowField], metadata: [ArrowField.KeyValue] = []) {
        self.fields = fields
        self.metadata = metadata
    }
}
