import Contracts
import Foundation

/// What a `DoGet` ticket (or a `CMD` descriptor) asks for: a JSON object, described in
/// docs/flight.md and docs/flight-ticket.schema.json. Unknown keys are refused, so a typo never
/// silently widens a read.
struct FlightTicket: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case events(EventQuery)
        case view(ViewQuery)
    }

    var kind: Kind
    /// Rows per record batch; nil for the server's `batch_rows`.
    var batchRows: Int?
    /// `none`, `lz4` or `zstd`; nil for the server's `compression`.
    var compression: String?

    /// A ticket that does not parse: the message names the key (INVALID_ARGUMENT).
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ bytes: [UInt8], maxBatchRows: Int) throws(Invalid) -> FlightTicket {
        let value: JSONValue
        do {
            value = try bytes.withUnsafeBufferPointer { buffer throws(ContractsError) in try FastJSON.parse(buffer) }
        } catch {
            throw Invalid(description: "the ticket is not JSON: \(error.description)")
        }
        guard case .object(let fields) = value else { throw Invalid(description: "the ticket must be a JSON object") }
        var reader = Reader(fields: fields, path: "")
        let kind = try reader.string("kind", required: true)!
        let batchRows = try reader.int("batch_rows", range: 1...Int64(maxBatchRows)).map(Int.init)
        let compression = try reader.string("compression")
        if let compression, !["none", "lz4", "zstd"].contains(compression) {
            throw Invalid(description: "compression: '\(compression)' is not one of none, lz4, zstd")
        }
        let ticket: FlightTicket
        switch kind {
        case "events":
            ticket = FlightTicket(
                kind: .events(try EventQuery(&reader)), batchRows: batchRows, compression: compression)
        case "view":
            ticket = FlightTicket(kind: .view(try ViewQuery(&reader)), batchRows: batchRows, compression: compression)
        default:
            throw Invalid(description: "kind: '\(kind)' is not one of events, view")
        }
        try reader.checkUnknown()
        return ticket
    }

    /// Typed reads from the ticket's object, each error naming its key.
    struct Reader {
        var fields: [String: JSONValue]
        var path: String
        private var read: Set<String> = []

        init(fields: [String: JSONValue], path: String) {
            self.fields = fields
            self.path = path
        }

        func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        mutating func value(_ key: String) -> JSONValue? {
            read.insert(key)
            guard let value = fields[key], value != .null else { return nil }
            return value
        }

        mutating func string(_ key: String, required: Bool = false) throws(Invalid) -> String? {
            guard let value = value(key) else {
                if required { throw Invalid(description: "\(name(key)): is required") }
                return nil
            }
            guard case .string(let text) = value else { throw Invalid(description: "\(name(key)): must be a string") }
            return text
        }

        mutating func int(_ key: String, range: ClosedRange<Int64>) throws(Invalid) -> Int64? {
            guard let value = value(key) else { return nil }
            guard case .int(let number) = value else { throw Invalid(description: "\(name(key)): must be an integer") }
            guard range.contains(number) else {
                throw Invalid(
                    description: "\(name(key)): \(number) is not within \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }

        mutating func strings(_ key: String) throws(Invalid) -> [String]? {
            guard let value = value(key) else { return nil }
            guard case .array(let items) = value else {
                throw Invalid(description: "\(name(key)): must be an array of strings")
            }
            var strings: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw Invalid(description: "\(name(key)): must be an array of strings")
                }
                strings.append(text)
            }
            return strings
        }

        mutating func object(_ key: String) throws(Invalid) -> Reader? {
            guard let value = value(key) else { return nil }
            guard case .object(let fields) = value else { return nil }
            return Reader(fields: fields, path: name(key))
        }

        func checkUnknown() throws(Invalid) {
            if let unknown = fields.keys.sorted().first(where: { !read.contains($0) }) {
                throw Invalid(description: "\(name(unknown)): unknown key")
            }
        }
    }
}
