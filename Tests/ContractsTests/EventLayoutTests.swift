import Foundation
import Testing

@testable import Contracts

/// `EventLayout` is flight-server's fast path: whatever it accepts, the decoder must accept with
/// the same values, and the events the bridges write must take it.
@Suite("EventLayout")
struct EventLayoutTests {
    static let events: [EntityEvent] = [
        EntityEvent(
            id: UUID(uuidString: "6F1C2A3B-4D5E-4F60-8172-839405A6B7C8")!, cursor: 42, source: "pg-main",
            entityType: "order", entityId: "1001", operation: .update,
            before: ["id": .int(1001), "status": .string("new"), "note": .string("a \"quoted\" é")],
            after: ["id": .int(1001), "status": .string("paid"), "total": .double(80.5), "tags": .array([.null])],
            changes: ["status": FieldChange(old: .string("new"), new: .string("paid"))], tenantId: "acme",
            occurredAt: Timestamp(microsecondsSinceEpoch: 1_765_000_000_123_456),
            traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        EntityEvent(
            id: UUID(), cursor: -7, source: "mysql-shop", entityType: "customer", entityId: "c-9", operation: .insert,
            after: ["id": .string("c-9")], occurredAt: Timestamp(microsecondsSinceEpoch: 0)),
        EntityEvent(
            id: UUID(), cursor: Int64.max, source: "pg-main", entityType: "order", entityId: "2", operation: .delete,
            before: [:], occurredAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000), schemaVersion: 3,
            imagesOmitted: true),
    ]

    /// Both readings of `bytes`: the layout (nil when it declines) and the decoder's.
    static func compare(_ bytes: [UInt8]) -> (layout: EventLayout?, agrees: Bool) {
        let layout = bytes.withUnsafeBufferPointer { EventLayout($0) }
        guard let layout else { return (nil, true) }
        guard let (event, rows) = try? EntityEvent.decodeEnvelope(bytes) else { return (layout, false) }
        func text(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }
        let agrees =
            layout.id == event.id && layout.cursor == event.cursor && text(layout.source) == event.source
            && text(layout.entityType) == event.entityType && text(layout.entityId) == event.entityId
            && layout.operation == event.operation && layout.rows == rows && text(layout.tenantId) == event.tenantId
            && layout.occurredAt == event.occurredAt && layout.schemaVersion == event.schemaVersion
            && text(layout.traceParent) == event.traceParent && layout.imagesOmitted == event.imagesOmitted
        return (layout, agrees)
    }

    @Test("the events the bridges write take the fast path, with the decoder's values")
    func encodedEvents() {
        for event in Self.events {
            let (layout, agrees) = Self.compare(FastJSON.encode(event))
            #expect(layout != nil, "\(event)")
            #expect(agrees)
            #expect(layout?.id == event.id)
        }
    }

    @Test(
        "unusual but valid shapes are declined (the decoder reads them); invalid events are declined",
        arguments: [
            // escapes in a string, an unknown key, a repeated key, a fraction, an exponent
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"p\u0067","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z","extra":1}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"cursor":2,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1.5,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1e3,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            // invalid: a bad UUID, a missing key, a wrong operation, rows of the wrong kind, trailing bytes
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7cZ","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"upsert","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z","after":[1]}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z","changes":{"a":1}}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"} x"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":1,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-13-01T00:00:00Z"}"#,
            #"{"id":"6f1c2a3b-4d5e-4f60-8172-839405a6b7c8","cursor":01,"source":"pg","entity_type":"o","entity_id":"1","operation":"insert","occurred_at":"2026-01-01T00:00:00Z"}"#,
        ])
    func declined(_ text: String) {
        #expect(Self.compare(Array(text.utf8)).layout == nil)
    }

    @Test("whitespace, nulls and every optional field read as the decoder reads them")
    func whitespaceAndNulls() {
        let text = """
             { "id" : "6F1C2A3B-4D5E-4F60-8172-839405A6B7C8" , "cursor" : -0 , "source" : "pg" ,
              "entity_type" : "o" , "entity_id" : "1" , "operation" : "delete" , "before" : null ,
              "after" : { "a" : [ 1 , { } ] } , "changes" : { } , "tenant_id" : null , "trace_parent" : null ,
              "occurred_at" : "2026-01-01T00:00:00.5+02:00" , "schema_version" : 2 , "images_omitted" : false }\t
            """
        let (layout, agrees) = Self.compare(Array(text.utf8))
        #expect(layout != nil)
        #expect(agrees)
    }

    /// Random byte changes to encoded events: whatever the layout still accepts, the decoder
    /// accepts with the same values.
    @Test("on 20,000 mutated events, the layout never accepts what the decoder refuses or reads otherwise")
    func mutations() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:0123456789-.eE+ \tnultrfase"\abcdefZ"#.utf8) + [0x00, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = FastJSON.encode(Self.events[round % Self.events.count])
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                }
            }
            let (layout, agrees) = Self.compare(bytes)
            if layout != nil { accepted += 1 }
            #expect(agrees, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(accepted > 1_000, "the mutations left some events valid (\(accepted))")
    }
}
