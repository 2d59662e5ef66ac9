/// A column: its name, type, nullability, dictionary encoding and metadata (extension types).
public struct ArrowField: Sendable, Hashable {
    /// A dictionary-encoded column: its values are indices (`int32`) into a dictionary of
    /// `type` values sent in dictionary batches with this `id`.
    public struct Dictionary: Sendable, Hashable {
        public var id: Int64
        public init(id: Int64) { self.id = id }
    }

    public var name: String
    /// For a dictionary-encoded column, the type of the dictionary's values.
    public var type: ArrowType
    public var nullable: Bool
    public var dictionary: Dictionary?
    /// Key-value metadata, in order (`ARROW:extension:name` …).
    public var metadata: [KeyValue]

    public struct KeyValue: Sendable, Hashable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(
        _ name: String, _ type: ArrowType, nullable: Bool = true, dictionary: Dictionary? = nil,
        metadata: [KeyValue] = []
    ) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.dictionary = dictionary
        self.metadata = metadata
    }

    /// Marks the field as one of Arrow's canonical extension types (`arrow.json`, `arrow.uuid`).
    public func extensionType(_ name: String, metadata value: String = "") -> ArrowField {
        var field = self
        field.metadata += [KeyValue("ARROW:extension:name", name), KeyValue("ARROW:extension:metadata", value)]
        return field
    }
}
