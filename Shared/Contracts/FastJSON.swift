import Foundation

/// A fast path for the hot loop of the bridges: parse JSON text into ``JSONValue`` and write an
/// ``EntityEvent`` as wire bytes without Foundation's `Codable` machinery. The output is
/// byte-identical to ``WireFormat/encode(_:)`` (sorted keys, compact, unescaped slashes); tests
/// compare the two on many values.
public enum FastJSON {

    /// The deepest nesting of objects and arrays the parser reads (as Foundation's JSON decoder):
    /// deeper input is an error, not a stack overflow, and every recursive walk of a parsed
    /// value (encoding, conditions, templates) is bounded by it.
    public static let maxDepth = 512

    // MARK: Parsing

    public static func parse(_ text: String) throws(ContractsError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, ContractsError> = text.withUTF8 { bytes in
            Result { () throws(ContractsError) -> JSONValue in try parse(bytes) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(ContractsError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .invalidJSON(offset: parser.index) }
        return value
    }

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// Objects and arrays open around the current position.
        var depth = 0

        /// Enters an object or array (the caller leaves it with `depth -= 1`).
        mutating func descend() throws(ContractsError) {
            depth += 1
            guard depth <= FastJSON.maxDepth else {
                throw .invalidJSON(offset: index, reason: "JSON nested deeper than \(FastJSON.maxDepth) levels")
            }
        }

        mutating func skipWhitespace() {
            while index < bytes.count,
                bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
            {
                index += 1
            }
        }

        mutating func value() throws(ContractsError) -> JSONValue {
            skipWhitespace()
            guard index < bytes.count else { throw .invalidJSON(offset: index) }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                try descend()
                defer { depth -= 1 }
                index += 1
                // Members are collected first, then hashed into a dictionary of the right size
                // at once (no rehashing as it grows). A repeated key keeps its last value.
                var members: [(String, JSONValue)] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object([:])
                }
                members.reserveCapacity(8)
                while true {
                    skipWhitespace()
                    let key = try string()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    members.append((key, try value()))
                    if try more(orClose: UInt8(ascii: "}")) { continue }
                    return .object(Dictionary(members, uniquingKeysWith: { _, last in last }))
                }
            case UInt8(ascii: "["):
                try descend()
                defer { depth -= 1 }
                index += 1
                var items: [JSONValue] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                while true {
                    items.append(try value())
                    if try more(orClose: UInt8(ascii: "]")) { continue }
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                return try number()
            }
        }

        /// After a member or an item: true at a `,` (another follows), false at `close` (the end),
        /// both consumed; anything else is an error.
        mutating func more(orClose close: UInt8) throws(ContractsError) -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw .invalidJSON(offset: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                return true
            }
            try expect(close)
            return false
        }

        mutating func expect(_ byte: UInt8) throws(ContractsError) {
            guard index < bytes.count, bytes[index] == byte else { throw .invalidJSON(offset: index) }
            index += 1
        }

        mutating func literal(_ word: StaticString) throws(ContractsError) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw .invalidJSON(offset: index) }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                throw .invalidJSON(offset: index + offset)
            }
            index += count
        }

        mutating func number() throws(ContractsError) -> JSONValue {
            let start = index
            var isInteger = true
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            while index < bytes.count {
                let byte = bytes[index]
                if byte >= 0x30 && byte <= 0x39 {
                    index += 1
                } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                {
                    isInteger = false
                    index += 1
                } else {
                    break
                }
            }
            guard index > start else { throw .invalidJSON(offset: start) }
            // Integers of up to 18 digits (every id, count and cursor) without a String.
            if isInteger {
                let negative = bytes[start] == UInt8(ascii: "-")
                let digitsStart = negative ? start + 1 : start
                let digits = index - digitsStart
                // Text with a leading zero ("007") takes the general path below, as before.
                if digits > 0, digits <= 18, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") {
                    var value: Int64 = 0
                    for position in digitsStart..<index { value = value * 10 + Int64(bytes[position] &- 0x30) }
                    return .int(negative ? -value : value)
                }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let value = Int64(text) { return .int(value) }
            guard let value = Double(text) else { throw .invalidJSON(offset: start) }
            // As Foundation's decoder does for `JSONValue`: an integral number is an integer.
            if value.rounded() == value, abs(value) < 9.2e18, let integer = Int64(exactly: value) {
                return .int(integer)
            }
            return .double(value)
        }

        mutating func string() throws(ContractsError) -> String {
            try expect(UInt8(ascii: "\""))
            let start = index
            // Fast path: no escapes.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                index += 1
            }
            guard index < bytes.count else { throw .invalidJSON(offset: index) }
            if bytes[index] == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            var scalars = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: scalars, as: UTF8.self)
                }
                if byte != UInt8(ascii: "\\") {
                    scalars.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { throw .invalidJSON(offset: index) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        try expect(UInt8(ascii: "\\"))
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw .invalidJSON(offset: index) }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw .invalidJSON(offset: index) }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw .invalidJSON(offset: index - 1)
                }
            }
            throw .invalidJSON(offset: index)
        }

        /// Checks and steps over one value exactly as ``value()`` would read it, without building
        /// it (no allocation for objects, arrays and strings).
        mutating func skipValue() throws(ContractsError) {
            skipWhitespace()
            guard index < bytes.count else { throw .invalidJSON(offset: index) }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                try descend()
                defer { depth -= 1 }
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return
                }
                while true {
                    skipWhitespace()
                    try skipString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    try skipValue()
                    if try more(orClose: UInt8(ascii: "}")) { continue }
                    return
                }
            case UInt8(ascii: "["):
                try descend()
                defer { depth -= 1 }
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return
                }
                while true {
                    try skipValue()
                    if try more(orClose: UInt8(ascii: "]")) { continue }
                    return
                }
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: try skipNumber()
            }
        }

        /// Steps over a number as ``number()`` would read it, without converting it: a number in
        /// strict JSON form (what every writer sends) is checked here; anything else takes
        /// ``number()``'s path, so the same texts are accepted and rejected.
        mutating func skipNumber() throws(ContractsError) {
            let start = index
            var position = index
            func digits() -> Bool {
                let first = position
                while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                return position > first
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            var strict = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "0") {
                position += 1
                strict = true
            } else {
                strict = digits()
            }
            if strict, position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                strict = digits()
            }
            if strict, position < bytes.count,
                bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")
            {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                strict = digits()
            }
            // The same end as number()'s scan: the next byte is none of its number characters.
            if strict, position == bytes.count || !Self.isNumberByte(bytes[position]) {
                index = position
                return
            }
            index = start
            _ = try number()
        }

        /// Whether ``number()`` scans `byte` as part of a number.
        static func isNumberByte(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x30...0x39, UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"),
                UInt8(ascii: "-"):
                true
            default: false
            }
        }

        /// Checks and steps over a string as ``string()`` would read it.
        mutating func skipString() throws(ContractsError) {
            try expect(UInt8(ascii: "\""))
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return }
                guard byte == UInt8(ascii: "\\") else { continue }
                guard index < bytes.count else { throw .invalidJSON(offset: index) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        try expect(UInt8(ascii: "\\"))
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw .invalidJSON(offset: index) }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard Unicode.Scalar(code) != nil else { throw .invalidJSON(offset: index) }
                default: throw .invalidJSON(offset: index - 1)
                }
            }
            throw .invalidJSON(offset: index)
        }

        mutating func hex4() throws(ContractsError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw .invalidJSON(offset: index) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw .invalidJSON(offset: index)
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }

    // MARK: Writing

    /// An event's images given as fields already in name order (a source that knows its columns'
    /// order once per table writes them without building and sorting dictionaries per row).
    public struct SortedImages: Sendable {
        public var before: [(name: String, value: JSONValue)]?
        public var after: [(name: String, value: JSONValue)]?
        /// For updates: the fields whose values differ, in name order.
        public var changes: [(name: String, old: JSONValue, new: JSONValue)]?

        public init(
            before: [(name: String, value: JSONValue)]?, after: [(name: String, value: JSONValue)]?,
            changes: [(name: String, old: JSONValue, new: JSONValue)]?
        ) {
            self.before = before
            self.after = after
            self.changes = changes
        }
    }

    /// The wire bytes of an event, identical to `WireFormat.encode(event)`.
    public static func encode(_ event: EntityEvent) -> [UInt8] {
        encode(event, images: nil)
    }

    /// The wire bytes of `event` with `images` in place of its `before`, `after` and `changes`
    /// (which are then ignored): the same bytes as ``encode(_:)`` of the event holding them.
    public static func encode(_ event: EntityEvent, images: SortedImages?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        var writer = Writer(out: out)
        writer.byte(UInt8(ascii: "{"))
        // Keys in sorted order, absent optionals omitted (as the Codable encoding does).
        if let images {
            if let after = images.after { writer.key("after", first: true); writer.fields(after) }
            if let before = images.before { writer.key("before", first: writer.isFirst); writer.fields(before) }
            if let changes = images.changes {
                writer.key("changes", first: writer.isFirst)
                writer.byte(UInt8(ascii: "{"))
                for (index, change) in changes.enumerated() {
                    writer.key(change.name, first: index == 0)
                    writer.fields([("new", change.new), ("old", change.old)])
                }
                writer.byte(UInt8(ascii: "}"))
            }
        } else {
            if let after = event.after { writer.key("after", first: true); writer.object(after) }
            if let before = event.before { writer.key("before", first: writer.isFirst); writer.object(before) }
            if let changes = event.changes {
                writer.key("changes", first: writer.isFirst)
                writer.changes(changes)
            }
        }
        writer.key("cursor", first: writer.isFirst)
        writer.text(String(event.cursor))
        writer.key("entity_id", first: false)
        writer.string(event.entityId)
        writer.key("entity_type", first: false)
        writer.string(event.entityType)
        writer.key("id", first: false)
        writer.string(event.id.lowercasedString)
        if let omitted = event.imagesOmitted {
            writer.key("images_omitted", first: false)
            writer.text(omitted ? "true" : "false")
        }
        writer.key("occurred_at", first: false)
        writer.string(event.occurredAt.rfc3339)
        writer.key("operation", first: false)
        writer.string(event.operation.rawValue)
        writer.key("schema_version", first: false)
        writer.text(String(event.schemaVersion))
        writer.key("source", first: false)
        writer.string(event.source)
        if let tenant = event.tenantId {
            writer.key("tenant_id", first: false)
            writer.string(tenant)
        }
        if let trace = event.traceParent {
            writer.key("trace_parent", first: false)
            writer.string(trace)
        }
        writer.byte(UInt8(ascii: "}"))
        return writer.out
    }

    /// Appends `fields` as a compact JSON object with sorted keys (as in the wire format).
    public static func appendObject(_ fields: [String: JSONValue], to out: inout [UInt8]) {
        var writer = Writer(out: out)
        out = []
        writer.object(fields)
        out = writer.out
    }

    /// Appends `changes` as the wire format writes them: `{"field": {"new": …, "old": …}}`.
    public static func appendChanges(_ changes: [String: FieldChange], to out: inout [UInt8]) {
        var writer = Writer(out: out)
        out = []
        writer.changes(changes)
        out = writer.out
    }

    struct Writer {
        var out: [UInt8]
        var isFirst: Bool { out.count <= 1 }

        mutating func byte(_ value: UInt8) { out.append(value) }

        mutating func text(_ value: String) { out.append(contentsOf: value.utf8) }

        mutating func key(_ name: String, first: Bool) {
            if !first { out.append(UInt8(ascii: ",")) }
            string(name)
            out.append(UInt8(ascii: ":"))
        }

        mutating func object(_ fields: [String: JSONValue]) {
            out.append(UInt8(ascii: "{"))
            var first = true
            for name in fields.keys.sorted() {
                key(name, first: first)
                first = false
                value(fields[name]!)
            }
            out.append(UInt8(ascii: "}"))
        }

        /// An object whose fields are already in name order.
        mutating func fields(_ fields: [(name: String, value: JSONValue)]) {
            out.append(UInt8(ascii: "{"))
            for (index, field) in fields.enumerated() {
                key(field.name, first: index == 0)
                value(field.value)
            }
            out.append(UInt8(ascii: "}"))
        }

        mutating func changes(_ changes: [String: FieldChange]) {
            byte(UInt8(ascii: "{"))
            var firstField = true
            for name in changes.keys.sorted() {
                let change = changes[name]!
                key(name, first: firstField)
                firstField = false
                object(["new": change.new, "old": change.old])
            }
            byte(UInt8(ascii: "}"))
        }

        mutating func value(_ value: JSONValue) {
            switch value {
            case .null: text("null")
            case .bool(let flag): text(flag ? "true" : "false")
            case .int(let number): text(String(number))
            case .double(let number): text(FastJSON.format(number))
            case .string(let value): string(value)
            case .array(let items):
                out.append(UInt8(ascii: "["))
                for (index, item) in items.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    self.value(item)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let fields): object(fields)
            }
        }

        mutating func string(_ value: String) {
            var value = value
            value.withUTF8 { bytes in
                out.append(UInt8(ascii: "\""))
                // Runs of bytes that need no escape are copied whole.
                var runStart = 0
                for index in 0..<bytes.count {
                    let byte = bytes[index]
                    if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") { continue }
                    if index > runStart {
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    }
                    escape(byte)
                    runStart = index + 1
                }
                if bytes.count > runStart {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
                }
                out.append(UInt8(ascii: "\""))
            }
        }

        private mutating func escape(_ byte: UInt8) {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
    }

    /// Appends one JSON value rendered by another writer (PostgreSQL's `jsonb` output: `{"a": 1}`)
    /// with the whitespace between tokens removed; strings are copied byte for byte. The input
    /// must be valid JSON: nothing is checked but string boundaries.
    public static func appendCompact(_ json: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                out.append(byte)
            } else {
                switch byte {
                case 0x20, 0x0A, 0x0D, 0x09: continue
                case UInt8(ascii: "\""):
                    inString = true
                    out.append(byte)
                default: out.append(byte)
                }
            }
        }
    }

    /// `text` as a JSON string literal, quotes included (the escaping of the wire format).
    public static func quoted(_ text: String) -> String {
        var writer = Writer(out: [])
        writer.string(text)
        return String(decoding: writer.out, as: UTF8.self)
    }

    /// Formats a double as Foundation's JSONEncoder does.
    static func format(_ number: Double) -> String {
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
