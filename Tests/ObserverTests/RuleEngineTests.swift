import Config
import Contracts
import FleetCore
import Foundation
import ObserverWorker
import Testing

/// The rule engine as `debug-event` and replay dry runs use it: a table of events against a set
/// of observers, each verdict (match, reason, clause values, rendered actions) checked.
@Suite("rule engine explanations")
struct RuleEngineTests {
    static let config = """
        [[observers]]
        name = "paid-big"
        entity = "order"
        operations = ["update"]
        condition = "field_changed_to('status', 'paid') && after.total > 50"
        [[observers.actions]]
        kind = "webhook"
        url = "https://hooks.example.com/secret-path/orders"
        body = '{"order": {{after.id}}, "total": {{after.total}}}'
        [[observers]]
        name = "any-order"
        entity = "order"
        [[observers.actions]]
        kind = "log"
        message = "order {{entity_id}} {{operation}}"
        [[observers]]
        name = "vip-or-refund"
        entity = "order"
        condition = "after.vip == true || field_changed_from('status', 'paid')"
        [[observers.actions]]
        kind = "slack"
        url = "https://hooks.slack.com/services/T/B/X"
        text = "order {{after.id}} for {{after.email}}"
        [[observers]]
        name = "users"
        entity = "user"
        operations = ["insert"]
        [[observers.actions]]
        kind = "log"
        """

    static func event(
        _ entity: String = "order", _ operation: Contracts.Operation = .update, before: [String: JSONValue]? = nil,
        after: [String: JSONValue]?
    ) -> EntityEvent {
        var changes: [String: FieldChange]?
        if let before, let after {
            changes = [:]
            for key in Set(before.keys).union(after.keys) where before[key] != after[key] {
                changes?[key] = FieldChange(old: before[key] ?? .null, new: after[key] ?? .null)
            }
        }
        return EntityEvent(
            id: UUID(), cursor: 7, source: "pg-main", entityType: entity, entityId: "42", operation: operation,
            before: before, after: after, changes: changes, occurredAt: .now())
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var event: EntityEvent
        /// Observer name → (matched, reason fragment, clause values in order).
        var expected: [String: (Bool, String, [Bool])]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "paid above 50: the first three clauses' observers",
            event: event(
                before: ["id": 42, "status": "new", "total": 80], after: ["id": 42, "status": "paid", "total": 80]),
            expected: [
                "paid-big": (true, "", [true, true]), "any-order": (true, "", []),
                "vip-or-refund": (false, "the condition is false", [false, false]),
                "users": (false, "entity is 'order'", []),
            ]),
        Case(
            name: "paid below 50: the second clause fails",
            event: event(
                before: ["id": 42, "status": "new", "total": 20], after: ["id": 42, "status": "paid", "total": 20]),
            expected: [
                "paid-big": (false, "the condition is false", [true, false]), "any-order": (true, "", []),
                "vip-or-refund": (false, "the condition is false", [false, false]),
            ]),
        Case(
            name: "an insert: paid-big takes updates only",
            event: event("order", .insert, after: ["id": 42, "status": "paid", "total": 90]),
            expected: [
                "paid-big": (false, "operation is insert", []), "any-order": (true, "", []),
                "vip-or-refund": (false, "the condition is false", [false, false]),
            ]),
        Case(
            name: "a refund of a VIP: either clause",
            event: event(
                before: ["id": 42, "status": "paid", "vip": true], after: ["id": 42, "status": "refunded", "vip": true]),
            expected: [
                "paid-big": (false, "the condition is false", [false, false]),
                "vip-or-refund": (true, "", [true, true]),
            ]),
        Case(
            name: "a delete has no after: paths read missing",
            event: event("order", .delete, before: ["id": 42, "status": "paid"], after: nil),
            expected: [
                "paid-big": (false, "operation is delete", []), "any-order": (true, "", []),
                "vip-or-refund": (true, "", [false, true]),
            ]),
        Case(
            name: "another entity", event: event("user", .insert, after: ["id": 1]),
            expected: [
                "paid-big": (false, "entity is 'user'", []), "users": (true, "", []),
            ]),
    ]

    @Test("verdicts, reasons and clause values", arguments: cases)
    func verdicts(_ testCase: Case) throws {
        let engine = try RuleEngine(FleetConfiguration(reader: ConfigFile(toml: Self.config, environment: [:])))
        let explanations = engine.explain(testCase.event)
        #expect(explanations.map(\.observer) == ["paid-big", "any-order", "vip-or-refund", "users"])
        for (name, (matched, reason, clauses)) in testCase.expected {
            let explanation = try #require(explanations.first { $0.observer == name })
            #expect(explanation.matched == matched, "\(name)")
            #expect(
                reason.isEmpty ? explanation.reason.isEmpty : explanation.reason.contains(reason),
                "\(name): \(explanation.reason)")
            #expect(explanation.clauses.map(\.value) == clauses, "\(name): \(explanation.clauses)")
            #expect(explanation.actions.isEmpty == !matched, "\(name): actions only when it matches")
        }
    }

    @Test("clauses name their values; actions render what they would send, without secrets")
    func rendering() throws {
        let engine = try RuleEngine(FleetConfiguration(reader: ConfigFile(toml: Self.config, environment: [:])))
        let event = Self.event(
            before: ["id": 42, "status": "new", "total": 80],
            after: ["id": 42, "status": "paid", "total": 80.5, "email": "a@example.com"])
        let explanations = engine.explain(event)
        let paid = try #require(explanations.first)
        #expect(paid.clauses.map(\.text) == ["field_changed_to('status', 'paid')", "after.total > 50"])
        #expect(paid.clauses.map(\.joiner) == ["&&", "&&"])
        #expect(paid.clauses[1].detail == "after.total = 80.5")
        #expect(paid.clauses[0].detail == #"before.status = "new", after.status = "paid""#)
        let webhook = try #require(paid.actions.first)
        #expect(webhook.key == "paid-big#0" && webhook.kind == "webhook")
        #expect(webhook.preview.contains(#"{"order": 42, "total": 80.5}"#), "\(webhook.preview)")
        #expect(webhook.preview.contains("webhook-id \(event.id.lowercasedString).paid-big#0"))
        #expect(!webhook.preview.contains("secret-path"), "the URL's path is not shown: \(webhook.preview)")
        let log = try #require(explanations[1].actions.first)
        #expect(log.preview.hasSuffix("order 42 update"), "\(log.preview)")
        let vip = try #require(explanations.first { $0.observer == "vip-or-refund" })
        #expect(vip.clauses.first?.detail == "after.vip = missing")
    }

    @Test("a configuration whose observers do not compile is an error naming the key")
    func badConfiguration() {
        let text = """
            [[observers]]
            name = "broken"
            entity = "order"
            condition = "after.total >"
            [[observers.actions]]
            kind = "log"
            """
        #expect {
            try RuleEngine(FleetConfiguration(reader: ConfigFile(toml: text, environment: [:])))
        } throws: { error in
            (error as? ConfigError)?.key.contains("condition") == true
        }
    }
}
