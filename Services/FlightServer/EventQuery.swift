import Contracts
import Foundation
import NATS

/// The events a ticket asks for: which entities and operations, from where, to where.
struct EventQuery: Sendable, Equatable {
    enum Start: Sendable, Equatable {
        case all
        case new
        case sequence(UInt64)
        case time(Timestamp)
    }

    enum End: Sendable, Equatable {
        /// The events in the stream when the read starts (the default).
        case now
        /// Keeps streaming new events until the client cancels.
        case tail
        /// Through this stream sequence.
        case sequence(UInt64)
        /// Events stored up to this time.
        case time(Timestamp)
    }

    var entities: [String]?
    var operations: Set<Contracts.Operation>?
    var start: Start = .all
    var end: End = .now
    /// At most this many events.
    var limit: Int?
    /// Only events whose change-log cursor is above this (a resume point within one source).
    var afterCursor: Int64?

    init(
        entities: [String]? = nil, operations: Set<Contracts.Operation>? = nil, start: Start = .all, end: End = .now,
        limit: Int? = nil, afterCursor: Int64? = nil
    ) {
        self.entities = entities
        self.operations = operations
        self.start = start
        self.end = end
        self.limit = limit
        self.afterCursor = afterCursor
    }

    init(_ reader: inout FlightTicket.Reader) throws(FlightTicket.Invalid) {
        entities = try reader.strings("entities")
        for entity in entities ?? [] {
            do throws(ContractsError) {
                _ = try SubjectNamer.entityToken(entity)
            } catch {
                throw FlightTicket.Invalid(description: "entities: \(error.description)")
            }
        }
        if let names = try reader.strings("operations") {
            var operations = Set<Contracts.Operation>()
            for name in names {
                guard let operation = Contracts.Operation(rawValue: name) else {
                    throw FlightTicket.Invalid(
                        description: "operations: '\(name)' is not one of insert, update, delete")
                }
                operations.insert(operation)
            }
            self.operations = operations
        }
        start = try Self.position(&reader, "start", Start.all, Start.new, Start.sequence, Start.time)
        end = try Self.position(&reader, "end", End.now, End.tail, End.sequence, End.time)
        limit = try reader.int("limit", range: 1...Int64(Int32.max)).map(Int.init)
        afterCursor = try reader.int("after_cursor", range: 0...Int64.max)
    }

    /// `"all"` / `"now"` and the like, `{"sequence": n}` or `{"time": "RFC 3339"}`.
    private static func position<T>(
        _ reader: inout FlightTicket.Reader, _ key: String, _ first: T, _ second: T, _ sequence: (UInt64) -> T,
        _ time: (Timestamp) -> T
    ) throws(FlightTicket.Invalid) -> T {
        let words = key == "start" ? ("all", "new") : ("now", "tail")
        let name = reader.name(key)
        guard let value = reader.value(key) else { return first }
        switch value {
        case .string(words.0): return first
        case .string(words.1): return second
        case .object(let fields) where fields.count == 1:
            if case .int(let number)? = fields["sequence"], number >= 1 { return sequence(UInt64(number)) }
            // Between 1970 and 2262: JetStream takes start times as nanoseconds in an Int64.
            if case .string(let text)? = fields["time"], let timestamp = Timestamp(rfc3339: text),
                (0...9_223_372_036_854_775).contains(timestamp.microsecondsSinceEpoch)
            {
                return time(timestamp)
            }
        default: break
        }
        throw FlightTicket.Invalid(
            description:
                "\(name): expected \"\(words.0)\", \"\(words.1)\", {\"sequence\": n ≥ 1} or {\"time\": \"RFC 3339 time\"} (1970...2262)"
        )
    }

    /// The narrowest subject filter that covers the query (one entity, one operation).
    func subject(_ namer: SubjectNamer) throws -> String {
        let entity = entities?.count == 1 ? entities![0] : nil
        let operation = operations?.count == 1 ? operations!.first : nil
        return try namer.filter(entityType: entity, operation: operation)
    }

    /// Whether an event read through ``subject(_:)`` belongs to the answer.
    func matches(_ event: EntityEvent) -> Bool {
        if let entities, !entities.contains(event.entityType) { return false }
        if let operations, !operations.contains(event.operation) { return false }
        if let afterCursor, event.cursor <= afterCursor { return false }
        return true
    }

    /// ``matches(_:)`` for an event read by ``EventLayout`` from `payload`.
    func matches(_ event: EventLayout, payload: UnsafeBufferPointer<UInt8>) -> Bool {
        if let entities, !entities.contains(String(decoding: payload[event.entityType], as: UTF8.self)) { return false }
        if let operations, !operations.contains(event.operation) { return false }
        if let afterCursor, event.cursor <= afterCursor { return false }
        return true
    }

    var orderedStart: OrderedStart {
        switch start {
        case .all: .all
        case .new: .new
        case .sequence(let sequence): .sequence(sequence)
        case .time(let time): .time(nanosecondsSinceEpoch: time.microsecondsSinceEpoch * 1000)
        }
    }
}
