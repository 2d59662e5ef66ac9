import Contracts
import Delivery
import Foundation
import Synchronization
import Testing

@testable import ObserverWorker

let paidOrder = EntityEvent(
    id: UUID(), cursor: 7, source: "pg-main", entityType: "order", entityId: "42", operation: .update,
    before: ["id": 42, "status": "pending", "total": 80.5, "customer": ["tier": "silver"], "note": nil],
    after: ["id": 42, "status": "paid", "total": 80.5, "customer": ["tier": "gold"], "note": nil, "items": 3],
    changes: [
        "status": FieldChange(old: "pending", new: "paid"),
        "customer": FieldChange(old: ["tier": "silver"], new: ["tier": "gold"]),
    ],
    tenantId: "acme", occurredAt: .now())

let newUser = EntityEvent(
    id: UUID(), cursor: 8, source: "pg-main", entityType: "user", entityId: "u1", operation: .insert,
    after: ["id": "u1", "email": "a@example.com", "age": 30], occurredAt: .now())

let deletedUser = EntityEvent(
    id: UUID(), cursor: 9, source: "pg-main", entityType: "user", entityId: "u1", operation: .delete,
    before: ["id": "u1", "email": "a@example.com"], occurredAt: .now())

@Suite("condition language")
struct ConditionTests {
    @Test(
        "evaluates against an update",
        arguments: [
            ("after.total > 50", true),
            ("after.total > 80.5", false),
            ("after.total >= 80.5", true),
            ("after.items == 3", true),
            ("after.items == 3.0", true),  // numbers compare numerically
            ("after.items < 10 && after.items > 2", true),
            ("after.status == 'paid'", true),
            ("after.status == \"paid\"", true),
            ("after.status != 'paid'", false),
            ("after.status > 'pa'", true),  // strings compare lexicographically
            ("after.status == 3", false),  // different kinds are unequal
            ("after.status > 3", false),  // … and unordered
            ("after.customer.tier == 'gold'", true),
            ("before.customer.tier == 'silver'", true),
            ("after.missing == null", true),
            ("after.note == null", true),
            ("after.missing", false),
            ("!after.missing", true),
            ("after.items", true),
            ("field_changed('status')", true),
            ("field_changed('total')", false),
            ("field_changed('customer.tier')", true),
            ("field_changed_to('status', 'paid')", true),
            ("field_changed_to('status', 'shipped')", false),
            ("field_changed_from('status', 'pending')", true),
            ("field_changed_from('status', 'paid')", false),
            ("has_field('items')", true),
            ("has_field('customer.tier')", true),
            ("has_field('nope')", false),
            ("operation == 'update'", true),
            ("entity_type == 'order' && tenant_id == 'acme'", true),
            ("changes.status.new == 'paid'", true),
            ("field_changed_to('status', 'paid') && after.total > 50", true),
            ("after.total > 100 || after.status == 'paid'", true),
            ("!(after.total > 100 || after.status == 'paid')", false),
            ("(after.total > 100 || after.status == 'paid') && !field_changed('total')", true),
            ("after.total > -1", true),
            ("true && !false", true),
        ])
    func update(source: String, expected: Bool) throws {
        #expect(try Condition(source).matches(paidOrder) == expected, "\(source)")
    }

    @Test("inserts and deletes: before or after is absent")
    func insertAndDelete() throws {
        #expect(try Condition("field_changed('email')").matches(newUser))
        #expect(try Condition("field_changed_from('email', null)").matches(newUser))
        #expect(try Condition("has_field('email')").matches(newUser))
        #expect(try !Condition("before.email == 'a@example.com'").matches(newUser))
        #expect(try Condition("has_field('email')").matches(deletedUser), "has_field looks at before for deletes")
        #expect(try Condition("before.email == 'a@example.com' && after.email == null").matches(deletedUser))
    }

    @Test(
        "errors name the problem and point at the column",
        arguments: [
            ("", 1, "empty condition"),
            ("after.total >", 14, "expected a value"),
            ("after.total = 5", 13, "use '=='"),
            ("after.total > 5 & x", 17, "use '&&'"),
            ("(after.total > 5", 17, "expected ')'"),
            ("after.status == 'paid", 17, "unterminated string"),
            ("total > 5", 1, "unknown name 'total'"),
            ("is_paid('x')", 1, "unknown function 'is_paid'"),
            ("field_changed(status)", 15, "expects a quoted field name"),
            ("field_changed_to('status')", 26, "expected ','"),
            ("has_field('a', 'b')", 14, "takes 1 argument"),
            ("after.a < after.b < 3", 19, "do not chain"),
            ("after.total > 5 after.x", 17, "expected '&&', '||' or the end"),
            ("after. > 3", 8, "expected a field name"),
            ("after.total # 3", 13, "unexpected character '#'"),
        ])
    func errors(source: String, column: Int, message: String) {
        do {
            _ = try Condition(source)
            Issue.record("'\(source)' should not parse")
        } catch {
            #expect(error.column == column, "\(source): \(error)")
            #expect(error.message.contains(message), "\(source): \(error)")
        }
    }
}

@Suite("templates")
struct TemplateTests {
    @Test("JSON bodies escape strings; numbers and nested fields render; text is not escaped")
    func rendering() throws {
        var event = paidOrder
        event.after?["name"] = "Bob \"the\" Builder\n"
        let context = TemplateContext(event, json: FastJSON.encode(event))
        let body = try EventTemplate(
            #"{"order": {{after.id}}, "total": {{after.total}}, "name": "{{after.name}}", "tier": "{{after.customer.tier}}", "op": "{{operation}}", "was": "{{changes.status.old}}"}"#,
            escaping: .json)
        let rendered = body.render(context)
        let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(rendered.utf8))
        #expect(
            parsed
                == [
                    "order": 42, "total": 80.5, "name": "Bob \"the\" Builder\n", "tier": "gold", "op": "update",
                    "was": "pending",
                ])
        let whole = try EventTemplate(#"{"row": {{{after_json}}}}"#, escaping: .json).render(context)
        let row = try JSONDecoder().decode(JSONValue.self, from: Data(whole.utf8))
        #expect(row[path: "row.status"] == "paid")
        let text = try EventTemplate("Order {{after.id}} is {{after.status}} <b>", escaping: .text).render(context)
        #expect(text == "Order 42 is paid <b>")
    }
}

@Suite("circuit breaker")
struct CircuitBreakerTests {
    @Test("opens on a failure rate over the window once enough calls were made, fails fast, one trial after reset")
    func lifecycle() {
        let breakers = CircuitBreakers(
            policy: .init(failureRate: 0.5, minimumCalls: 4, window: .seconds(10)), reset: .seconds(10))
        let start = ContinuousClock.now
        for _ in 0..<3 {
            #expect(breakers.allow("a", now: start))
            breakers.record("a", success: false, now: start)
        }
        #expect(breakers.phase("a") == .closed, "three failures: under the minimum number of calls")
        // An endpoint failing 30% of its calls stays closed: its failures are retried instead.
        for index in 0..<100 {
            breakers.record("flaky", success: index % 10 >= 3, now: start + .milliseconds(index * 50))
        }
        #expect(breakers.phase("flaky") == .closed, "30% failures never open it")
        // Failures that left the window no longer count.
        breakers.record("a", success: true, now: start + .seconds(11))
        breakers.record("a", success: false, now: start + .seconds(11))
        #expect(breakers.phase("a") == .closed, "the old failures aged out: 1 of 2 calls in the window")
        breakers.record("a", success: false, now: start + .seconds(11))
        breakers.record("a", success: false, now: start + .seconds(11))
        #expect(breakers.phase("a") != .closed, "3 of 4 calls failed: open")
        let opened = start + .seconds(11)
        #expect(!breakers.allow("a", now: opened + .seconds(5)), "open: fail fast")
        #expect(breakers.allow("b", now: opened), "other endpoints are not affected")
        #expect(breakers.allow("a", now: opened + .seconds(11)), "after reset: one trial")
        #expect(!breakers.allow("a", now: opened + .seconds(11)), "only one trial at a time")
        breakers.record("a", success: false, now: opened + .seconds(11))
        #expect(!breakers.allow("a", now: opened + .seconds(12)), "failed trial: open again")
        #expect(breakers.allow("a", now: opened + .seconds(22)))
        breakers.record("a", success: true, now: opened + .seconds(22))
        #expect(breakers.phase("a") == .closed)
        breakers.record("a", success: false, now: opened + .seconds(22))
        #expect(breakers.phase("a") == .closed, "closed again with an empty window")
    }

    @Test(
        "only this process's own failures report an opened circuit; another worker's opening is applied, never shortened"
    )
    func sharedOpenings() {
        let opened = Mutex<[String]>([])
        let breakers = CircuitBreakers(policy: .init(failureRate: 1, minimumCalls: 2), reset: .seconds(10))
        breakers.whenOpened { endpoint in opened.withLock { $0.append(endpoint) } }
        let start = ContinuousClock.now
        for _ in 0..<2 { breakers.record("a", success: false, now: start) }
        #expect(opened.withLock { $0 } == ["a"], "opened by its own failures: reported once")

        #expect(breakers.openShared("b", for: .seconds(5), now: start), "opened")
        #expect(!breakers.allow("b", now: start + .seconds(4)), "open while the other worker's key lives")
        #expect(breakers.allow("b", now: start + .seconds(5)), "then its own trial call")
        #expect(opened.withLock { $0 } == ["a"], "an opening read from Redis is not written back")

        breakers.openShared("a", for: .seconds(3), now: start)
        #expect(!breakers.allow("a", now: start + .seconds(9)), "a shorter shared opening does not shorten it")
        breakers.openShared("a", for: .seconds(15), now: start)
        #expect(!breakers.allow("a", now: start + .seconds(14)), "a longer one extends it")
        #expect(breakers.allow("a", now: start + .seconds(15)))
        breakers.openShared("a", for: .seconds(30), now: start + .seconds(15))
        #expect(breakers.phase("a") == .halfOpen(trialRunning: true), "a half-open circuit is left to its trial")

        breakers.record("c", success: true, now: start)
        #expect(!breakers.openShared("c", for: .seconds(5), now: start + .seconds(9)))
        #expect(breakers.allow("c", now: start + .seconds(9)), "a call succeeded here within reset: not applied")
        breakers.openShared("c", for: .seconds(5), now: start + .seconds(10))
        #expect(!breakers.allow("c", now: start + .seconds(11)), "no success within reset: applied")
        #expect(breakers.openRemaining("c", now: start + .seconds(11)) == .seconds(4))

        // Another worker's trial call succeeded: a circuit open only because of another
        // worker's opening closes; one opened by failures here, or half-open, keeps its own trial.
        #expect(breakers.closeShared("c"), "opened from Redis: closed")
        #expect(breakers.phase("c") == .closed)
        #expect(!breakers.closeShared("c"), "already closed")
        for _ in 0..<2 { breakers.record("d", success: false, now: start) }
        #expect(!breakers.closeShared("d"), "opened by failures here: left to its own trial")
        #expect(!breakers.allow("d", now: start + .seconds(1)))
        #expect(breakers.openShared("e", for: .seconds(5), trialMargin: .seconds(10), now: start))
        #expect(
            breakers.retryDelay("e", now: start + .seconds(1)) == .seconds(7),
            "a refused event comes back when the opener's trial may have closed it (key + 3 s)")
        #expect(breakers.retryDelay("e", now: start + .seconds(9)) == .seconds(6), "then for the rest")
        #expect(!breakers.allow("e", now: start + .seconds(14)), "open for the opener's trial margin")
        #expect(breakers.allow("e", now: start + .seconds(15)), "nothing heard: its own trial")
        #expect(!breakers.closeShared("e"), "half-open: its own trial decides")

        // A trial call that succeeds is reported (the worker writes `closed` for the others);
        // an ordinary success is not.
        let trials = Mutex<[String]>([])
        breakers.whenTrialSucceeded { endpoint in trials.withLock { $0.append(endpoint) } }
        breakers.record("e", success: true, now: start + .seconds(16))
        breakers.record("e", success: true, now: start + .seconds(17))
        #expect(breakers.allow("d", now: start + .seconds(10)), "d's time is up: trial")
        breakers.record("d", success: false, now: start + .seconds(10))
        #expect(trials.withLock { $0 } == ["e"], "one trial succeeded (e); d's failed")

        // A circuit opened by failures here is extended to another worker's key at most, never
        // by the trial margin (that worker's closing would not reach it).
        let later = start + .seconds(20)
        for _ in 0..<2 { breakers.record("f", success: false, now: later) }
        breakers.openShared("f", for: .seconds(12), trialMargin: .seconds(10), now: later)
        #expect(breakers.openRemaining("f", now: later) == .seconds(12))
        // A call that did not reach the endpoint (cache hit, cancelled) frees the trial slot
        // without closing or reopening the circuit.
        #expect(breakers.allow("f", now: later + .seconds(12)), "trial")
        #expect(!breakers.allow("f", now: later + .seconds(12)), "one trial at a time")
        breakers.releaseTrial("f")
        #expect(breakers.phase("f") == .halfOpen(trialRunning: false))
        #expect(breakers.allow("f", now: later + .seconds(12)), "the trial slot is free again")
    }

    @Test(
        "a shared opening whose key has been gone unheard for the trial slack can be taken over; a takeover only extends circuits taken from Redis"
    )
    func orphanedOpenings() {
        let breakers = CircuitBreakers(policy: .init(failureRate: 1, minimumCalls: 2), reset: .seconds(10))
        let start = ContinuousClock.now
        breakers.openShared("a", for: .seconds(5), trialMargin: .seconds(10), now: start)
        #expect(breakers.orphanedShared("a", now: start + .seconds(4)) == nil, "its key still lives")
        #expect(
            breakers.orphanedShared("a", now: start + .seconds(7)) == nil,
            "key gone, but the opener's trial may still be writing its outcome")
        #expect(breakers.orphanedShared("a", now: start + .seconds(8)) == .seconds(7), "unheard for 3 s: trial in 7 s")
        #expect(breakers.orphanedShared("a", now: start + .seconds(15)) == nil, "trial due now: nothing to take over")
        for _ in 0..<2 { breakers.record("b", success: false, now: start) }
        #expect(breakers.orphanedShared("b", now: start + .seconds(9)) == nil, "opened by failures here")
        #expect(!breakers.adoptShared("b"))

        #expect(breakers.adoptShared("a"), "taken over")
        #expect(breakers.openRemaining("a", now: start + .seconds(8)) == .seconds(7), "its trial time is unchanged")
        #expect(breakers.orphanedShared("a", now: start + .seconds(14)) == nil, "its own key outlives its trial")
        #expect(
            breakers.retryDelay("a", now: start + .seconds(8)) == .seconds(7), "refused events come back for the trial")
        #expect(breakers.closeShared("a"), "another worker's successful trial still closes it")
        breakers.openShared("c", for: .seconds(5), trialMargin: .seconds(10), now: start)
        breakers.adoptShared("c")
        #expect(breakers.allow("c", now: start + .seconds(15)), "the trial call")
        breakers.record("c", success: false, now: start + .seconds(15))
        #expect(breakers.orphanedShared("c", now: start + .seconds(19)) == nil, "a failed trial: its own opening")
        #expect(!breakers.closeShared("c"), "left to its own next trial")

        // Another worker's takeover key extends a circuit taken from Redis, and nothing else: it
        // opens no closed circuit and does not hold one that this worker's failures opened.
        #expect(!breakers.openShared("z", for: .seconds(5), onlyIfShared: true, now: start))
        #expect(breakers.phase("z") == .closed)
        breakers.openShared("b", for: .seconds(30), onlyIfShared: true, now: start)
        #expect(breakers.openRemaining("b", now: start) == .seconds(10), "its own trial stands")
        breakers.openShared("d", for: .seconds(5), trialMargin: .seconds(10), now: start)
        breakers.openShared("d", for: .seconds(20), trialMargin: .seconds(10), onlyIfShared: true, now: start)
        #expect(breakers.openRemaining("d", now: start) == .seconds(30), "extended to the takeover's trial and a reset")
    }

    @Test("a Retry-After is read in seconds or as a date, never negative, at most a day")
    func retryAfter() {
        #expect(DeliveryError.retryAfter("3") == .seconds(3))
        #expect(DeliveryError.retryAfter("-5") == .seconds(0))
        #expect(DeliveryError.retryAfter("10000000000") == .seconds(86_400))
        #expect(DeliveryError.retryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(DeliveryError.retryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now: now) == .seconds(0))
        #expect(DeliveryError.retryAfter("Tue, 14 Nov 2023 22:14:00 GMT", now: now) == .seconds(40))
        #expect(DeliveryError.retryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now: now) == .seconds(86_400))
    }
}

@Suite("event decoding")
struct EventDecodingTests {
    @Test("the fast decoder reads what the wire format writes, and names what is wrong")
    func decode() throws {
        let bytes = FastJSON.encode(paidOrder)
        #expect(try EntityEvent.decode(bytes) == paidOrder)
        func error(_ text: String) -> String {
            do {
                _ = try EntityEvent.decode(Array(text.utf8))
                return "decoded"
            } catch { return error.message }
        }
        #expect(error("not json").hasPrefix("not JSON"))
        #expect(error("[1]") == "not a JSON object")
        #expect(error(#"{"id":"nope"}"#) == "'id' is not a UUID")
        #expect(error(#"{"id":"6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10","cursor":1}"#) == "missing key 'operation'")
        #expect(error(" [1] ") == "not a JSON object")
        #expect(error(#"{"id":1} x"#).hasPrefix("not JSON"))
        #expect(error(#"{"id":1"#).hasPrefix("not JSON"))
        // Unknown keys are skipped, a repeated key keeps its last value, whitespace is free.
        let text = String(decoding: bytes, as: UTF8.self)
        let padded =
            #" { "extra" : {"x":[1,2,{"y":null}]}, "operation":"delete", "#
            + text.dropFirst().dropLast() + " } "
        #expect(try EntityEvent.decode(Array(padded.utf8)) == paidOrder)
        #expect(try EntityEvent.decode(Array(padded.utf8)) == WireFormat.decode(EntityEvent.self, from: bytes))
    }
}
