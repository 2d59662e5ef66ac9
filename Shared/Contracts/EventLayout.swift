import Foundation

/// Where an event's fields are in its wire bytes, with its scalars read: for a reader that copies
/// the text on as it is (flight-server's Arrow columns) without building an ``EntityEvent``, its
/// strings and its rows.
///
/// ``init(_:)`` reads only the usual shape of an event: every string in plain ASCII without
/// escapes, no unknown or repeated key, integers without fraction or exponent. For anything
/// else it returns nil and the caller decodes the event with ``EntityEvent/decodeEnvelope(_:)``,
/// which reads every valid event and reports the invalid ones. What it accepts, the decoder
/// accepts with the same values (`EventLayoutTests`).
public struct EventLayout: Sendable, Equatable {
    public var id: UUID
    public var cursor: Int64
    public var source: Range<Int>
    public var entityType: Range<Int>
    public var entityId: Range<Int>
    public var operation: Operation
    /// `before`, `after` and `changes` as JSON text; nil when absent or null.
    public var rows: EntityEvent.RowRanges
    public var tenantId: Range<Int>?
    public var occurredAt: Timestamp
    public var schemaVersion: Int
    public var traceParent: Range<Int>?
    public var imagesOmitted: Bool?

    /// One pass over the top-level object; every "unusual" turn answers nil.
    private struct Scanner {
        var parser: FastJSON.Parser
        var bytes: UnsafeBufferPointer<UInt8> { parser.bytes }

        mutating func event() -> EventLayout? {
            parser.skipWhitespace()
            guard next(UInt8(ascii: "{")) else { return nil }
            parser.depth = 1
            var seen: UInt16 = 0
            var id: UUID?
            var cursor: Int64?
            var source: Range<Int>?
            var entityType: Range<Int>?
            var entityId: Range<Int>?
            var operation: Operation?
            var rows = EntityEvent.RowRanges()
            var tenantId: Range<Int>?
            var occurredAt: Timestamp?
            var schemaVersion = WireFormat.entityEventSchemaVersion
            var traceParent: Range<Int>?
            var imagesOmitted: Bool?
            parser.skipWhitespace()
            if !next(UInt8(ascii: "}")) {
                while true {
                    parser.skipWhitespace()
                    guard let key = plainString(),
                        let field = EventFieldKey(UnsafeBufferPointer(rebasing: bytes[key]))
                    else { return nil }
                    guard seen & (1 << field.rawValue) == 0 else { return nil }
                    seen |= 1 << field.rawValue
                    parser.skipWhitespace()
                    guard next(UInt8(ascii: ":")) else { return nil }
                    parser.skipWhitespace()
                    switch field {
                    case .id:
                        guard let text = plainString(),
                            let value = UUID(utf8: UnsafeBufferPointer(rebasing: bytes[text]))
                        else { return nil }
                        id = value
                    case .cursor:
                        guard let value = integer() else { return nil }
                        cursor = value
                    case .source: guard let text = plainString() else { return nil }; source = text
                    case .entityType: guard let text = plainString() else { return nil }; entityType = text
                    case .entityId: guard let text = plainString() else { return nil }; entityId = text
                    case .operation:
                        guard let text = plainString(), let value = EventLayout.operation(bytes[text]) else {
                            return nil
                        }
                        operation = value
                    case .before, .after, .changes:
                        let start = parser.index
                        if nullLiteral() { break }
                        guard (try? parser.skipObject(ofObjects: field == .changes)) == true else { return nil }
                        switch field {
                        case .before: rows.before = start..<parser.index
                        case .after: rows.after = start..<parser.index
                        default: rows.changes = start..<parser.index
                        }
                    case .tenantId:
                        if nullLiteral() { break }
                        guard let text = plainString() else { return nil }
                        tenantId = text
                    case .traceParent:
                        if nullLiteral() { break }
                        guard let text = plainString() else { return nil }
                        traceParent = text
                    case .occurredAt:
                        guard let text = plainString(),
                            let micros = Timestamp.microseconds(rfc3339: UnsafeBufferPointer(rebasing: bytes[text]))
                        else { return nil }
                        occurredAt = Timestamp(microsecondsSinceEpoch: micros)
                    case .schemaVersion:
                        guard let value = integer() else { return nil }
                        schemaVersion = Int(value)
                    case .imagesOmitted:
                        if nullLiteral() { break }
                        if literal("true") {
                            imagesOmitted = true
                        } else if literal("false") {
                            imagesOmitted = false
                        } else {
                            return nil
                        }
                    }
                    parser.skipWhitespace()
                    if next(UInt8(ascii: ",")) { continue }
                    guard next(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            parser.skipWhitespace()
            guard parser.index == bytes.count, let id, let cursor, let source, let entityType, let entityId,
                let operation, let occurredAt
            else { return nil }
            return EventLayout(
                id: id, cursor: cursor, source: source, entityType: entityType, entityId: entityId,
                operation: operation, rows: rows, tenantId: tenantId, occurredAt: occurredAt,
                schemaVersion: schemaVersion, traceParent: traceParent, imagesOmitted: imagesOmitted)
        }

        mutating func next(_ byte: UInt8) -> Bool {
            guard parser.index < bytes.count, bytes[parser.index] == byte else { return false }
            parser.index += 1
            return true
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard parser.index + count <= bytes.count,
                memcmp(word.utf8Start, bytes.baseAddress! + parser.index, count) == 0
            else { return false }
            parser.index += count
            return true
        }

        mutating func nullLiteral() -> Bool { literal("null") }

        /// A string of printable ASCII without escapes: the range of its text (quotes excluded).
        mutating func plainString() -> Range<Int>? {
            guard next(UInt8(ascii: "\"")) else { return nil }
            let start = parser.index
            while parser.index < bytes.count {
                let byte = bytes[parser.index]
                if byte == UInt8(ascii: "\"") {
                    parser.index += 1
                    return start..<(parser.index - 1)
                }
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                parser.index += 1
            }
            return nil
        }

        /// An integer without fraction or exponent that fits in 64 bits.
        mutating func integer() -> Int64? {
            let negative = next(UInt8(ascii: "-"))
            let start = parser.index
            var value: Int64 = 0
            while parser.index < bytes.count, bytes[parser.index] >= 48, bytes[parser.index] <= 57 {
                let digit = Int64(bytes[parser.index] - 48)
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(digit)
                guard !overflow, !overflow2 else { return nil }
                value = sum
                parser.index += 1
            }
            let digits = parser.index - start
            guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
            if parser.index < bytes.count, FastJSON.Parser.isNumberByte(bytes[parser.index]) { return nil }
            return negative ? -value : value
        }
    }

    static func operation(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Operation? {
        guard text.count == 6 else { return nil }
        if text.elementsEqual("insert".utf8) { return .insert }
        if text.elementsEqual("update".utf8) { return .update }
        if text.elementsEqual("delete".utf8) { return .delete }
        return nil
    }
}

extension EventLayout {
    /// The layout of an event in `bytes`; nil when it is not an event of the usual shape (see
    /// the type's description). (In an extension: the memberwise initialiser stays.)
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        var scanner = Scanner(parser: FastJSON.Parser(bytes: bytes))
        guard let layout = scanner.event() else { return nil }
        self = layout
    }
}
