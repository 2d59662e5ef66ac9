import Contracts

/// One clause of a condition as `debug-event` explains it: its text, what it evaluated to, and
/// for a comparison the values compared.
public struct ConditionClause: Sendable, Codable, Hashable {
    /// `&&` or `||`: how the clause joins the others at the top of the condition ("" for one alone).
    public var joiner: String
    public var text: String
    public var value: Bool
    /// The operands' values, for comparisons and field functions (e.g. `after.total = 42.5`).
    public var detail: String
}

extension Condition {
    /// The condition's top-level clauses (split at the `&&` or `||` of its root), each evaluated.
    public func clauses(_ event: EntityEvent) -> [ConditionClause] {
        var nodes: [Node] = []
        var joiner = ""
        switch root {
        case .and:
            joiner = "&&"
            root.flatten(and: true, into: &nodes)
        case .or:
            joiner = "||"
            root.flatten(and: false, into: &nodes)
        default: nodes = [root]
        }
        return nodes.map { node in
            ConditionClause(
                joiner: joiner, text: node.text, value: node.evaluate(event).isTruthy, detail: node.detail(event))
        }
    }
}

extension Node {
    func flatten(and: Bool, into nodes: inout [Node]) {
        switch self {
        case .and(let left, let right) where and, .or(let left, let right) where !and:
            left.flatten(and: and, into: &nodes)
            right.flatten(and: and, into: &nodes)
        default: nodes.append(self)
        }
    }

    /// The node as condition text (parenthesised where it nests).
    var text: String {
        switch self {
        case .literal(let value): Self.literalText(value)
        case .path(let root, let components): ([root] + components).joined(separator: ".")
        case .not(let node): "!" + node.nested
        case .and(let left, let right): "\(left.nested) && \(right.nested)"
        case .or(let left, let right): "\(left.nested) || \(right.nested)"
        case .compare(let comparison, let left, let right): "\(left.nested) \(comparison.rawValue) \(right.nested)"
        case .hasField(let field): "has_field('\(field)')"
        case .fieldChanged(let field): "field_changed('\(field)')"
        case .fieldChangedTo(let field, let node): "field_changed_to('\(field)', \(node.text))"
        case .fieldChangedFrom(let field, let node): "field_changed_from('\(field)', \(node.text))"
        }
    }

    private var nested: String {
        switch self {
        case .and, .or, .compare: "(\(text))"
        default: text
        }
    }

    private static func literalText(_ value: JSONValue) -> String {
        if case .string(let text) = value { return "'\(text)'" }
        return String(decoding: (try? WireFormat.encode(value)) ?? [], as: UTF8.self)
    }

    /// The values the node looked at, for the explanation.
    func detail(_ event: EntityEvent) -> String {
        func show(_ value: JSONValue?) -> String {
            guard let value else { return "missing" }
            return String(decoding: (try? WireFormat.encode(value)) ?? [], as: UTF8.self)
        }
        switch self {
        case .compare(_, let left, let right):
            return [left, right].compactMap { node -> String? in
                guard case .path(let root, let components) = node else { return nil }
                return "\(node.text) = \(show(Self.lookup(event, root: root, components)))"
            }.joined(separator: ", ")
        case .path(let root, let components): return "\(text) = \(show(Self.lookup(event, root: root, components)))"
        case .hasField(let field):
            let row = event.operation == .delete ? event.before : event.after
            return "\(event.operation == .delete ? "before" : "after").\(field) = \(show(Self.value(in: row, field)))"
        case .fieldChanged(let field), .fieldChangedTo(let field, _), .fieldChangedFrom(let field, _):
            return
                "before.\(field) = \(show(Self.value(in: event.before, field))), after.\(field) = \(show(Self.value(in: event.after, field)))"
        case .not(let node): return node.detail(event)
        case .literal, .and, .or: return ""
        }
    }
}
