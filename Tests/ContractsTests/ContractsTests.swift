import Contracts
import Foundation
import Testing

/// Golden files pin the wire encoding. Set `RECORD_GOLDEN=1` to rewrite them after an intended
/// change (and bump `schema_version` when the change is not backward compatible).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func check<T: Codable & Equatable>(_ value: T, file name: String) throws {
        let url = directory.appendingPathComponent(name)
        let encoder = WireFormat.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        let encoded = String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        if ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" {
            try encoded.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(encoded == golden, "encoding of \(T.self) differs from \(name)")
        let decoded = try WireFormat.decode(T.self, from: Array(golden.utf8))
        #expect(decoded == value, "decoding \(name) does not give the value back")
    }
}

let sampleID = UUID(uuidString: "3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11")!
let sampleTime = Timestamp(rfc3339: "2026-11-22T21:45:13.123456Z")!

@Suite("Wire contracts")
struct WireContractTests {
    @Test("update event matches its golden file")
    func updateEventGolden() throws {
        let before: [String: JSONValue] = ["id": 1042, "status": "pending", "total": 99.5]
        let after: [String: JSONValue] = ["id": 1042, "status": "paid", "total": 99.5]
        let event = EntityEvent(
            id: sampleID, cursor: 48213, source: "pg-main", entityType: "order", entityId: "1042", operation: .update,
            before: before, after: after, changes: EntityEvent.diff(before: before, after: after),
            occurredAt: sampleTime,
            traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(event.changes == ["status": FieldChange(old: "pending", new: "paid")])
        try Golden.check(event, file: "entity_event_update.json")
    }

    @Test("insert event without before, changes or tenant matches its golden file")
    func insertEventGolden() throws {
        let event = EntityEvent(
            id: sampleID, cursor: 1, source: "pg-main", entityType: "customer", entityId: "7", operation: .insert,
            after: [
                "id": 7, "name": "Ada", "tier": "gold", "tags": ["a", "b"], "address": ["city": "Paris"], "note": nil,
            ],
            tenantId: "tenant-1", occurredAt: sampleTime)
        try Golden.check(event, file: "entity_event_insert.json")
    }

    @Test("job, dead letter and checkpoint match their golden files")
    func otherGoldens() throws {
        let job = Job(
            id: sampleID, queue: "default", kind: "http", payload: ["url": "http://127.0.0.1/x"], attempt: 2,
            maxAttempts: 5,
            backoff: BackoffPolicy(kind: .exponential, baseMilliseconds: 500, capMilliseconds: 60_000, jitter: 0.2),
            enqueuedAt: sampleTime, notBefore: sampleTime.adding(.seconds(2)), sourceEventId: sampleID,
            uniqueKey: "order-1042", timeoutMilliseconds: 30_000)
        try Golden.check(job, file: "job.json")
        let letter = DeadLetter(
            id: sampleID, origin: "entity.change.order.update", payload: "not json", reason: .undecodable, attempts: 1,
            firstFailedAt: sampleTime, lastFailedAt: sampleTime, lastError: "unexpected character 'n'")
        try Golden.check(letter, file: "dead_letter.json")
        try Golden.check(
            Checkpoint(transport: "pg-main", cursor: 48213, updatedAt: sampleTime), file: "checkpoint.json")
    }

    @Test("the ARCHITECTURE.md example decodes, with null tenant_id and upper-case id accepted")
    func architectureExample() throws {
        let text = """
            {"id": "3F1C2A9E-8D4B-4C1E-9A57-2B6F0E4D7C11", "cursor": 48213, "source": "pg-main",
             "entity_type": "order", "entity_id": "1042", "operation": "update",
             "before": {"id": 1042, "status": "pending", "total": 99.5},
             "after":  {"id": 1042, "status": "paid",    "total": 99.5},
             "changes": {"status": {"old": "pending", "new": "paid"}},
             "tenant_id": null, "occurred_at": "2026-11-22T21:45:13.123456Z", "schema_version": 1,
             "trace_parent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
            """
        let event = try WireFormat.decode(EntityEvent.self, from: Array(text.utf8))
        #expect(event.id == sampleID)
        #expect(event.tenantId == nil)
        #expect(event.after?["total"] == .double(99.5))
        #expect(event.after?["id"] == .int(1042))
        #expect(event.occurredAt == sampleTime)
        let reencoded = String(decoding: try WireFormat.encode(event), as: UTF8.self)
        #expect(reencoded.contains(#""id":"3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11""#))
    }

    @Test(
        "a payload that is not the contract fails to decode",
        arguments: [
            "not json", "{}", #"{"id":"x","cursor":1}"#,
            #"{"id":"3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11","cursor":1,"source":"s","entity_type":"o","entity_id":"1","operation":"upsert","occurred_at":"2026-11-22T21:45:13Z","schema_version":1}"#,
        ])
    func undecodable(text: String) {
        #expect(throws: (any Error).self) { try WireFormat.decode(EntityEvent.self, from: Array(text.utf8)) }
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test(
        "RFC 3339 parsing",
        arguments: [
            ("2026-11-22T21:45:13.123456Z", "2026-11-22T21:45:13.123456Z"),
            ("2026-11-22T21:45:13Z", "2026-11-22T21:45:13.000000Z"),
            ("2026-11-22T21:45:13.1Z", "2026-11-22T21:45:13.100000Z"),
            ("2026-11-22T21:45:13.123456789Z", "2026-11-22T21:45:13.123456Z"),
            ("2026-11-22T23:45:13.5+02:00", "2026-11-22T21:45:13.500000Z"),
            ("2026-11-22 21:45:13-01:30", "2026-11-22T23:15:13.000000Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
            ("2000-02-29T12:00:00Z", "2000-02-29T12:00:00.000000Z"),
        ])
    func parse(input: String, expected: String) throws {
        let timestamp = try #require(Timestamp(rfc3339: input))
        #expect(timestamp.rfc3339 == expected)
    }

    @Test(
        "invalid timestamps are rejected",
        arguments: [
            "", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T21:45:13", "2026-11-22T21:45:13.Z",
            "2026-11-22T21:45:13Zx",
        ])
    func invalid(input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test("formatting agrees with the C library's calendar from 1900 to 2400, before 1970 included")
    func formattingAgreesWithGmtime() {
        var generator = SystemRandomNumberGenerator()
        let low: Int64 = -2_208_988_800_000_000  // 1900-01-01
        let high: Int64 = 13_569_465_600_000_000  // 2400-01-01
        var instants: [Int64] = [0, -1, 951_782_400_000_000, 951_868_799_999_999, 4_107_542_400_000_000]
        for _ in 0..<2000 { instants.append(Int64.random(in: low..<high, using: &generator)) }
        for micros in instants {
            var seconds = micros / 1_000_000
            var fraction = micros % 1_000_000
            if fraction < 0 {
                fraction += 1_000_000
                seconds -= 1
            }
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(fraction))
            #expect(Timestamp(microsecondsSinceEpoch: micros).rfc3339 == expected, "\(micros)")
        }
    }

    @Test("Date round trip keeps microseconds")
    func dateRoundTrip() {
        let timestamp = Timestamp(microsecondsSinceEpoch: 1_795_383_913_123_456)
        #expect(Timestamp(timestamp.date) == timestamp)
    }
}

@Suite("Subjects")
struct SubjectTests {
    @Test(
        "entity tokens",
        arguments: [
            ("order", "entity.change.order.update"), ("Order", "entity.change.order.update"),
            ("line_item", "entity.change.line_item.update"), ("audit-log2", "entity.change.audit-log2.update"),
        ])
    func valid(entity: String, subject: String) throws {
        #expect(try SubjectNamer().subject(entityType: entity, operation: .update) == subject)
    }

    @Test(
        "invalid entity names are rejected with a clear message",
        arguments: [
            "", "order.items", "orders*", ">", "line item", "café", "a/b",
        ])
    func invalid(entity: String) {
        let error = #expect(throws: ContractsError.self) {
            try SubjectNamer().subject(entityType: entity, operation: .insert)
        }
        #expect(error?.code == .invalidEntity)
        do {
            _ = try SubjectNamer.entityToken(entity)
        } catch {
            #expect(error.description.contains("cannot be a NATS subject token"))
        }
    }

    @Test("prefixes and filters")
    func prefixes() throws {
        let namer = try SubjectNamer(prefix: "app.events")
        #expect(try namer.subject(entityType: "order", operation: .delete) == "app.events.order.delete")
        #expect(try namer.filter() == "app.events.>")
        #expect(try namer.filter(entityType: "order") == "app.events.order.*")
        #expect(try namer.filter(operation: .insert) == "app.events.*.insert")
        for bad in ["", "a..b", "a.*", "a.>", "a b", ".a"] {
            #expect(#expect(throws: ContractsError.self) { try SubjectNamer(prefix: bad) }?.code == .invalidPrefix)
        }
    }

    @Test("event headers carry id, source, cursor and trace context")
    func headers() {
        let event = EntityEvent(
            id: sampleID, cursor: 9, source: "pg-main", entityType: "order", entityId: "1", operation: .insert,
            occurredAt: sampleTime, traceParent: "00-abc-def-01")
        let headers = Dictionary(uniqueKeysWithValues: EventHeaders.headers(for: event))
        #expect(headers["Nats-Msg-Id"] == "3f1c2a9e-8d4b-4c1e-9a57-2b6f0e4d7c11")
        #expect(headers["Fraiseql-Source"] == "pg-main")
        #expect(headers["Fraiseql-Cursor"] == "9")
        #expect(headers["traceparent"] == "00-abc-def-01")
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test(
        "documented schedules without jitter",
        arguments: [
            (BackoffPolicy.Kind.fixed, [500, 500, 500, 500, 500]),
            (.linear, [500, 1000, 1500, 2000, 2500]),
            (.exponential, [500, 1000, 2000, 4000, 5000]),
        ])
    func schedules(kind: BackoffPolicy.Kind, expected: [Int64]) {
        let policy = BackoffPolicy(kind: kind, baseMilliseconds: 500, capMilliseconds: 5000, jitter: 0)
        #expect((1...5).map { policy.delayMilliseconds(afterFailure: $0, random: 0.9) } == expected)
    }

    @Test("jitter stays within ±jitter and under the cap")
    func jitter() {
        let policy = BackoffPolicy(kind: .exponential, baseMilliseconds: 1000, capMilliseconds: 10_000, jitter: 0.2)
        #expect(policy.delayMilliseconds(afterFailure: 1, random: 0) == 800)
        #expect(policy.delayMilliseconds(afterFailure: 1, random: 0.5) == 1000)
        #expect(policy.delayMilliseconds(afterFailure: 1, random: 0.999_999) == 1200)
        #expect(policy.delayMilliseconds(afterFailure: 10, random: 0.999_999) == 10_000)
        #expect(policy.delayMilliseconds(afterFailure: 200, random: 0) == 8000)
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("integers, doubles, booleans and nulls keep their kind")
    func kinds() throws {
        let decoded = try WireFormat.decode(
            JSONValue.self,
            from: Array(#"{"a":1,"b":1.5,"c":true,"d":null,"e":[1,"x"],"f":{"g":9007199254740993}}"#.utf8))
        #expect(decoded[path: "a"] == .int(1))
        #expect(decoded[path: "b"] == .double(1.5))
        #expect(decoded[path: "c"] == .bool(true))
        #expect(decoded[path: "d"] == .null)
        #expect(decoded[path: "e"] == .array([.int(1), .string("x")]))
        #expect(decoded[path: "f.g"] == .int(9_007_199_254_740_993))
        #expect(decoded[path: "f.missing"] == nil)
    }
}

@Suite("Fast JSON path")
struct FastJSONTests {
    static let samples: [String] = [
        #"{"id": 1042, "status": "pending", "total": 99.5}"#,
        #"{"a": [1, 2.25, -3, 1e3, 1.5E-7, 12345678901234567890], "b": {"c": null, "d": true, "e": false}}"#,
        #"{"text": "quote \" backslash \\ slash \/ newline \n tab \t unicode \u00e9 \ud83d\ude00 control \u0001"}"#,
        #"{"empty": {}, "list": [], "nested": [[{"x": "y"}]], "zero": 0, "neg": -0.5, "big": 9007199254740993}"#,
        #"{"unicode": "café 日本", "float": 0.1, "float2": 100.0, "exp": 2.5e+20, "small": 1e-300}"#,
    ]

    @Test("parsing matches Foundation's decoding", arguments: samples)
    func parse(text: String) throws {
        let fast = try FastJSON.parse(text)
        let foundation = try WireFormat.decode(JSONValue.self, from: Array(text.utf8))
        #expect(fast == foundation)
    }

    @Test("event bytes are identical to WireFormat.encode", arguments: samples)
    func encode(text: String) throws {
        let object = try #require(try FastJSON.parse(text).objectValue)
        for operation in Operation.allCases {
            let event = EntityEvent(
                id: UUID(), cursor: 123_456_789, source: "pg-\"main\"", entityType: "order", entityId: "1042",
                operation: operation, before: operation == .insert ? nil : object,
                after: operation == .delete ? nil : object,
                changes: operation == .update
                    ? ["status": FieldChange(old: "a", new: .null), "x\ny": FieldChange(old: 1, new: 2.5)] : nil,
                tenantId: operation == .delete ? "t/1" : nil, occurredAt: sampleTime,
                traceParent: operation == .update ? "00-abc-def-01" : nil)
            let fast = String(decoding: FastJSON.encode(event), as: UTF8.self)
            let foundation = String(decoding: try WireFormat.encode(event), as: UTF8.self)
            #expect(fast == foundation)
        }
    }

    @Test(
        "invalid JSON is rejected",
        arguments: ["", "{", #"{"a" 1}"#, "[1,]", "tru", #""abc"#, "1 2", #"{"a":1,}"#, "-"])
    func invalid(text: String) {
        #expect(#expect(throws: ContractsError.self) { try FastJSON.parse(text) }?.code == .invalidJSON)
    }
}

@Suite("UUID text")
struct UUIDTextTests {
    @Test("the fast parser and formatter agree with Foundation")
    func roundTrip() {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(text: id.uuidString) == id)
            #expect(UUID(text: id.lowercasedString) == id)
        }
        for bad in [
            "", "6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c1", "6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10a",
            "6f1c1f4e+3b7a-4d44-9d1e-0b5e0f7a9c10", "6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c1g",
        ] {
            #expect(UUID(text: bad) == nil, "\(bad)")
        }
    }
}

@Suite("Decoding without the rows")
struct EnvelopeDecodingTests {
    /// The outcome of a decode, comparable: the event, or the error's text.
    static func outcome(_ bytes: [UInt8], rows: Bool) -> Result<EntityEvent, ContractsError> {
        do { return .success(try EntityEvent.decode(bytes, rows: rows)) } catch { return .failure(error) }
    }

    static func sameOutcome(_ bytes: [UInt8]) -> Bool {
        switch (outcome(bytes, rows: true), outcome(bytes, rows: false)) {
        case (.success(var full), .success(let envelope)):
            full.before = nil
            full.after = nil
            full.changes = nil
            return full == envelope
        case (.failure(let full), .failure(let envelope)):
            return full.message == envelope.message && full.eventId == envelope.eventId
        default: return false
        }
    }

    static func event(_ rows: String) -> String {
        #"{"id":"6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10","cursor":7,"source":"pg","entity_type":"order","#
            + #""entity_id":"1","operation":"update","occurred_at":"2026-11-23T10:00:00.000001Z","# + rows + "}"
    }

    @Test(
        "rows that are read or rejected by the full decoder are skipped or rejected alike",
        arguments: [
            #""before":{"a":1,"s":"x\"y\\z \u00e9 \ud83d\ude00","n":[1,2.5,{"d":null}]},"after":null,"changes":{}"#,
            #""before":null,"after":{},"changes":{"a":{"old":1,"new":2},"b":{}}"#,
            #""before":5"#, #""after":"x""#, #""after":[]"#, #""changes":{"a":1}"#,
            #""changes":{"a":{"old":1},"b":"x"}"#, #""changes":[]"#, #""before":{"a":"\x"}"#,
            #""before":{"a":"\udc00"}"#, #""before":{"a":"\ud800\u0041"}"#, #""before":{"a":1,}"#,
            #""before":{"a" 1}"#, #""before":{"a":tru}"#, #""before":{"a":-}"#, #""changes":{"a":{"old":[1,]}}"#,
            // Numbers: strict JSON ones take the skipper's fast path, the rest the full reader's.
            #""before":{"a":-0.5e-3,"b":0,"c":12E+2,"d":1e400,"e":123456789012345678901234}"#,
            #""before":{"a":01}"#, #""before":{"a":1.}"#, #""before":{"a":.5}"#, #""before":{"a":+1}"#,
            #""before":{"a":1e}"#, #""before":{"a":1e+}"#, #""before":{"a":1.2.3}"#, #""before":{"a":1-2}"#,
            #""before":{"a":-01.5}"#, #""after":[0,-0,1e5,2.50]"#,
        ])
    func table(rows: String) {
        #expect(Self.sameOutcome(Array(Self.event(rows).utf8)), "\(rows)")
    }

    @Test("keys are matched exactly: escaped keys are the keys they spell, near-misses and unknown keys are ignored")
    func keys() throws {
        let plain = try EntityEvent.decode(Array(Self.event(#""tenant_id":"t""#).utf8))
        // `\u0069d` is `id`, `tenant\u005fid` is `tenant_id`: the same event.
        let escaped = Self.event(#""tenant\u005fid":"t""#).replacingOccurrences(of: #"{"id""#, with: #"{"\u0069d""#)
        #expect(try EntityEvent.decode(Array(escaped.utf8)) == plain)
        // Same length and first byte as known keys, and unknown keys: ignored, so `source` is missing.
        for near in [#""sourcf""#, #""entity_typ_""#, #""tenant_ix""#, #""zz""#] {
            let text = Self.event(#""extra":[1,{"a":null}]"#).replacingOccurrences(of: #""source""#, with: near)
            do {
                _ = try EntityEvent.decode(Array(text.utf8))
                Issue.record("decoded with \(near) instead of source")
            } catch {
                #expect(error.message == "missing key 'source'", "\(near)")
            }
        }
        // An unknown key's value is still read: invalid JSON there is rejected.
        #expect(throws: ContractsError.self) { try EntityEvent.decode(Array(Self.event(#""extra":tru"#).utf8)) }
    }

    @Test("random corruptions of a real event are accepted or rejected alike, with the same error")
    func corruptions() {
        let row: [String: JSONValue] = [
            "id": 1042, "status": "paid", "total": 99.5, "note": "quote \" backslash \\ é 😀",
            "items": .array([.object(["sku": "A-1", "qty": 2]), .null, true]),
        ]
        let event = EntityEvent(
            id: UUID(), cursor: 42, source: "pg-main", entityType: "order", entityId: "1042", operation: .update,
            before: row, after: row.merging(["status": "shipped"]) { $1 },
            changes: ["status": FieldChange(old: "paid", new: "shipped")], occurredAt: sampleTime)
        let bytes = FastJSON.encode(event)
        #expect(Self.sameOutcome(bytes))
        #expect((try? EntityEvent.decode(bytes, rows: false))?.before == nil)
        let alphabet = Array(#"{}[]:,"\/u0aen-.e+ dx"#.utf8)
        var generator = SystemRandomNumberGenerator()
        var mismatches: [String] = []
        for _ in 0..<5_000 {
            var corrupted = bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<corrupted.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: corrupted[position] = alphabet.randomElement(using: &generator)!
                case 1: corrupted.remove(at: position)
                default: corrupted.insert(alphabet.randomElement(using: &generator)!, at: position)
                }
            }
            if !Self.sameOutcome(corrupted) { mismatches.append(String(decoding: corrupted, as: UTF8.self)) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }
}

@Suite("Bounded input")
struct BoundedInputTests {
    @Test("JSON nested past 512 levels is an error, not a stack overflow, in every decoding path")
    func nesting() throws {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(#expect(throws: ContractsError.self) { try FastJSON.parse(deep) }?.code == .invalidJSON)
        let within = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect((try? FastJSON.parse(within)) != nil, "512 levels are read")
        let over = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect((try? FastJSON.parse(over)) == nil)
        var event = String(
            decoding: FastJSON.encode(
                EntityEvent(
                    id: UUID(), cursor: 1, source: "s", entityType: "order", entityId: "1", operation: .insert,
                    after: ["a": 1], occurredAt: .now())), as: UTF8.self)
        event = event.replacingOccurrences(of: #""after":{"#, with: #""after":{"deep":"# + deep + ",")
        for rows in [true, false] {
            do {
                _ = try EntityEvent.decode(Array(event.utf8), rows: rows)
                Issue.record("decoded a 200,000-level event")
            } catch {
                #expect(error.message.contains("nested deeper than 512"), "\(error.message)")
            }
        }
        // Jobs and dead letters go through Foundation's decoder: deep input is an error there too.
        let job =
            #"{"id":"6f1c1e0e-0000-4000-8000-000000000001","queue":"q","kind":"noop","payload":"#
            + deep
            + #","attempt":0,"max_attempts":5,"backoff":{"kind":"fixed","base_ms":1,"cap_ms":1,"jitter":0},"enqueued_at":"2026-01-01T00:00:00Z"}"#
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Job.self, from: Data(job.utf8)) }
    }

    @Test("a job's numeric fields are clamped on decode: a huge timeout, attempt or backoff cannot trap")
    func jobClamps() throws {
        let text =
            #"{"id":"6f1c1e0e-0000-4000-8000-000000000001","queue":"q","kind":"http","payload":{},"attempt":9223372036854775807,"max_attempts":-5,"timeout_ms":9223372036854775807,"backoff":{"kind":"exponential","base_ms":9223372036854775807,"cap_ms":-1,"jitter":1e300},"enqueued_at":"2026-01-01T00:00:00Z"}"#
        let job = try JSONDecoder().decode(Job.self, from: Data(text.utf8))
        #expect(job.attempt == Job.Limits.attempt.upperBound)
        #expect(job.maxAttempts == 1)
        #expect(job.timeoutMilliseconds == Job.Limits.timeoutMilliseconds.upperBound)
        #expect(job.backoff.jitter == 1 && job.backoff.capMilliseconds == 0)
        var next = job
        next.attempt += 1  // no overflow
        #expect(job.backoff.delay(afterFailure: next.attempt) >= .zero)
        #expect(Duration.milliseconds(job.timeoutMilliseconds!) == .seconds(86_400))
    }

    @Test("images_omitted round-trips and is absent unless set")
    func imagesOmitted() throws {
        var event = EntityEvent(
            id: UUID(), cursor: 1, source: "s", entityType: "order", entityId: "1", operation: .insert,
            occurredAt: .now())
        #expect(!String(decoding: FastJSON.encode(event), as: UTF8.self).contains("images_omitted"))
        event.imagesOmitted = true
        let bytes = FastJSON.encode(event)
        let codable = Array(try WireFormat.encode(event))
        #expect(
            bytes == codable, "\(String(decoding: bytes, as: UTF8.self)) vs \(String(decoding: codable, as: UTF8.self))"
        )
        #expect(try EntityEvent.decode(bytes).imagesOmitted == true)
    }
}

@Suite("Envelope decoding with row ranges")
struct EnvelopeRowRangeTests {
    static func event(_ rows: String) -> [UInt8] {
        Array(
            (#"{"id":"6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10","cursor":7,"source":"pg","entity_type":"order","#
                + #""entity_id":"1","operation":"update","occurred_at":"2026-11-23T10:00:00.000001Z","# + rows + "}")
                .utf8)
    }

    @Test(
        "the ranges hold the rows' JSON text, which reads as the full decoder's rows",
        arguments: [
            #""before":{"a":1,"s":"x\"y"},"after":{ "a" : 2 , "n":[1,{"d":null}]},"changes":{"a":{"new":2,"old":1}}"#,
            #""before":null,"after":{"b":true}"#,
            #""after":{"x":1},"after":null"#,
            #""changes":{},"before":{}"#,
        ])
    func ranges(rows: String) throws {
        let bytes = Self.event(rows)
        let full = try EntityEvent.decode(bytes)
        let (envelope, ranges) = try EntityEvent.decodeEnvelope(bytes)
        #expect(envelope.id == full.id && envelope.operation == full.operation && envelope.cursor == full.cursor)
        #expect(envelope.before == nil && envelope.after == nil && envelope.changes == nil)
        func parsed(_ range: Range<Int>?) throws -> JSONValue? {
            try range.map { try FastJSON.parse(String(decoding: bytes[$0], as: UTF8.self)) }
        }
        #expect(try parsed(ranges.before) == full.before.map { .object($0) })
        #expect(try parsed(ranges.after) == full.after.map { .object($0) })
        let changes = full.changes.map { changes in
            JSONValue.object(changes.mapValues { .object(["new": $0.new, "old": $0.old]) })
        }
        #expect(try parsed(ranges.changes) == changes)
    }
}

@Suite("Event encoding from sorted images")
struct SortedImagesEncodingTests {
    @Test("an event written from images in name order has the bytes of the event holding them")
    func sameBytes() throws {
        let before: [String: JSONValue] = ["id": .int(7), "status": .string("new"), "note": .null, "tags": .array([])]
        let after: [String: JSONValue] = [
            "id": .int(7), "status": .string("paid \"now\""), "note": .double(1.5), "tags": .array([.bool(true)]),
        ]
        let event = EntityEvent(
            id: UUID(), cursor: 42, source: "mysql-main", entityType: "order", entityId: "7", operation: .update,
            before: before, after: after, changes: EntityEvent.diff(before: before, after: after), tenantId: "acme",
            occurredAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456))
        var header = event
        header.before = nil
        header.after = nil
        header.changes = nil
        func sorted(_ image: [String: JSONValue]) -> [(name: String, value: JSONValue)] {
            image.keys.sorted().map { ($0, image[$0]!) }
        }
        let changes = EntityEvent.diff(before: before, after: after).keys.sorted().map {
            (name: $0, old: before[$0] ?? .null, new: after[$0] ?? .null)
        }
        let images = FastJSON.SortedImages(before: sorted(before), after: sorted(after), changes: changes)
        #expect(FastJSON.encode(header, images: images) == FastJSON.encode(event))
        #expect(try EntityEvent.decode(FastJSON.encode(header, images: images)) == event)
        let insert = EntityEvent(
            id: UUID(), cursor: 1, source: "s", entityType: "order", entityId: "1", operation: .insert, after: after,
            occurredAt: Timestamp(microsecondsSinceEpoch: 0))
        var insertHeader = insert
        insertHeader.after = nil
        #expect(
            FastJSON.encode(
                insertHeader, images: FastJSON.SortedImages(before: nil, after: sorted(after), changes: nil))
                == FastJSON.encode(insert))
    }
}
