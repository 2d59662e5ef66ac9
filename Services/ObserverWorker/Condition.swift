import Contracts

/// An observer's condition, parsed once at start-up and evaluated per event.
///
/// Language: comparisons `== != > < >= <=` (numbers compare numerically, strings
/// lexicographically, values of different kinds are unequal and unordered), `&& || !`, parentheses,
/// literals (numbers, 'single' or "double" quoted strings, `true`, `false`, `null`), dotted paths
/// rooted at `after`, `before`, `changes`, or one of the event's fields (`operation`,
/// `entity_type`, `entity_id`, `tenant_id`, `source`), and the functions `has_field('f')`,
/// `field_changed('f')`, `field_changed_to('f', v)`, `field_changed_from('f', v)` (`f` may be
/// dotted). A bare value is true when it is `true`, a non-zero number, or a non-empty string,
/// array or object; missing and `null` are false.
public struct Condition: Sendable, CustomStringConvertible {
    public let source: String
    let root: Node

    public init(_ source: String) throws(ConditionError) {
        self.source = source
        var parser = Parser(source)
        root = try parser.parse()
    }

    public var description: String { source }

    public func matches(_ event: EntityEvent) -> Bool {
        root.evaluate(event).isTruthy
    }
}

// MARK: Syntax tree

indirect enum Node: Sendable {
    case literal(JSONValue)
    case path(root: String, components: [String])
    case not(Node)
    case and(Node, Node)
    case or(Node, Node)
    case compare(Comparison, Node, Node)
    case hasField(String)
    case fieldChanged(String)
    case fieldChangedTo(String, Node)
    case fieldChangedFrom(String, Node)

    enum Comparison: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
    }

    static let eventFields: Set<String> = ["operation", "entity_type", "entity_id", "tenant_id", "source"]

    func evaluate(_ event: EntityEvent) -> JSONValue {
        switch self {
        case .literal(let value):
            return value
        case .path(let root, let components):
            return Self.lookup(event, root: root, components) ?? .null
        case .not(let node):
            return .bool(!node.evaluate(event).isTruthy)
        case .and(let left, let right):
            return .bool(left.evaluate(event).isTruthy && right.evaluate(event).isTruthy)
        case .or(let left, let right):
            return .bool(left.evaluate(event).isTruthy || right.evaluate(event).isTruthy)
        case .compare(let comparison, let left, let right):
            return .bool(Self.compare(comparison, left.evaluate(event), right.evaluate(event)))
        case .hasField(let field):
            let row = event.operation == .delete ? event.before : event.after
            return .bool(Self.value(in: row, field) != nil)
        case .fieldChanged(let field):
            return .bool(Self.changed(event, field))
        case .fieldChangedTo(let field, let node):
            let target = node.evaluate(event)
            return .bool(
                Self.changed(event, field) && Self.compare(.equal, Self.value(in: event.after, field) ?? .null, target))
        case .fieldChangedFrom(let field, let node):
            let target = node.evaluate(event)
            return .bool(
                Self.changed(event, field) && Self.compare(.equal, Self.value(in: event.before, field) ?? .null, target)
            )
        }
    }

    static func value(in row: [String: JSONValue]?, _ field: String) -> JSONValue? {
        guard let row else { return nil }
        return JSONValue.object(row)[path: field]
    }

    /// A field changed when its value differs between `before` and `after` (missing counts as null).
    static func changed(_ event: EntityEvent, _ field: String) -> Bool {
        let old = value(in: event.before, field) ?? .null
        let new = value(in: event.after, field) ?? .null
        return !compare(.equal, old, new)
    }

    static func lookup(_ event: EntityEvent, root: String, _ components: [String]) -> JSONValue? {
        let base: JSONValue?
        switch root {
        case "after": base = event.after.map(JSONValue.object)
        case "before": base = event.before.map(JSONValue.object)
        case "changes":
            base = event.changes.map { changes in
                .object(changes.mapValues { .object(["old": $0.old, "new": $0.new]) })
            }
        case "operation": base = .string(event.operation.rawValue)
        case "entity_type": base = .string(event.entityType)
        case "entity_id": base = .string(event.entityId)
        case "tenant_id": base = event.tenantId.map(JSONValue.string)
        case "source": base = .string(event.source)
        default: base = nil
        }
        guard !components.isEmpty else { return base }
        return base?[path: components.joined(separator: ".")]
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let integer): Double(integer)
        case .double(let double): double
        default: nil
        }
    }

    static func compare(_ comparison: Comparison, _ left: JSONValue, _ right: JSONValue) -> Bool {
        if case .int(let a) = left, case .int(let b) = right { return ordered(comparison, a, b) }
        if let a = number(left), let b = number(right) { return ordered(comparison, a, b) }
        if case .string(let a) = left, case .string(let b) = right { return ordered(comparison, a, b) }
        switch comparison {
        case .equal: return left == right
        case .notEqual: return left != right
        default: return false  // different kinds, or kinds without an order
        }
    }

    static func ordered<T: Comparable>(_ comparison: Comparison, _ a: T, _ b: T) -> Bool {
        switch comparison {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .greater: a > b
        case .lessOrEqual: a <= b
        case .greaterOrEqual: a >= b
        }
    }
}

extension JSONValue {
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .int(let value): value != 0
        case .double(let value): value != 0
        case .string(let value): !value.isEmpty
        case .array(let values): !values.isEmpty
        case .object(let fields): !fields.isEmpty
        }
    }
}

// MARK: Lexer and parser

private struct Token {
    enum Kind: Equatable {
        case identifier(String)
        case number(JSONValue)
        case string(String)
        case symbol(String)
        case end
    }
    var kind: Kind
    var column: Int
}

private struct Parser {
    private var tokens: [Token] = []
    private var index = 0
    private var lexError: ConditionError?

    init(_ source: String) {
        do {
            tokens = try Self.lex(source)
        } catch {
            lexError = error
        }
    }

    static func lex(_ source: String) throws(ConditionError) -> [Token] {
        let characters = Array(source)
        var tokens: [Token] = []
        var position = 0
        while position < characters.count {
            let character = characters[position]
            let column = position + 1
            if character.isWhitespace {
                position += 1
            } else if character.isLetter || character == "_" {
                var end = position
                while end < characters.count,
                    characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
                {
                    end += 1
                }
                tokens.append(Token(kind: .identifier(String(characters[position..<end])), column: column))
                position = end
            } else if character.isNumber
                || (character == "-" && position + 1 < characters.count
                    && characters[position + 1].isNumber && Self.valueMayStart(after: tokens.last))
            {
                var end = position + 1
                while end < characters.count,
                    characters[end].isNumber || characters[end] == "." || characters[end] == "e"
                        || characters[end] == "E"
                {
                    end += 1
                }
                let text = String(characters[position..<end])
                if let integer = Int64(text) {
                    tokens.append(Token(kind: .number(.int(integer)), column: column))
                } else if let double = Double(text) {
                    tokens.append(Token(kind: .number(.double(double)), column: column))
                } else {
                    throw ConditionError(column: column, message: "'\(text)' is not a number")
                }
                position = end
            } else if character == "'" || character == "\"" {
                var end = position + 1
                var text = ""
                while end < characters.count, characters[end] != character {
                    if characters[end] == "\\", end + 1 < characters.count {
                        end += 1
                    }
                    text.append(characters[end])
                    end += 1
                }
                guard end < characters.count else {
                    throw ConditionError(column: column, message: "unterminated string")
                }
                tokens.append(Token(kind: .string(text), column: column))
                position = end + 1
            } else {
                let two = position + 1 < characters.count ? String(characters[position...position + 1]) : ""
                if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                    tokens.append(Token(kind: .symbol(two), column: column))
                    position += 2
                } else if "<>!().,".contains(character) {
                    tokens.append(Token(kind: .symbol(String(character)), column: column))
                    position += 1
                } else if character == "=" {
                    throw ConditionError(column: column, message: "'=' is not an operator; use '=='")
                } else if character == "&" || character == "|" {
                    throw ConditionError(
                        column: column, message: "'\(character)' is not an operator; use '\(character)\(character)'")
                } else {
                    throw ConditionError(column: column, message: "unexpected character '\(character)'")
                }
            }
        }
        tokens.append(Token(kind: .end, column: characters.count + 1))
        return tokens
    }

    /// A `-` starts a negative number only where a value may start (not after a value: `a -1`).
    private static func valueMayStart(after token: Token?) -> Bool {
        guard let token else { return true }
        if case .symbol(let symbol) = token.kind { return symbol != ")" }
        return false
    }

    private var current: Token { tokens[index] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let name): "'\(name)'"
        case .number(let value): "number \(value)"
        case .string(let text): "string '\(text)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "end of condition"
        }
    }

    private mutating func expect(_ symbol: String) throws(ConditionError) {
        guard current.kind == .symbol(symbol) else {
            throw ConditionError(column: current.column, message: "expected '\(symbol)', found \(describe(current))")
        }
        _ = advance()
    }

    mutating func parse() throws(ConditionError) -> Node {
        if let lexError { throw lexError }
        guard current.kind != .end else { throw ConditionError(column: 1, message: "empty condition") }
        let node = try parseOr()
        guard current.kind == .end else {
            throw ConditionError(
                column: current.column, message: "unexpected \(describe(current)); expected '&&', '||' or the end")
        }
        return node
    }

    private mutating func parseOr() throws(ConditionError) -> Node {
        var node = try parseAnd()
        while current.kind == .symbol("||") {
            _ = advance()
            node = .or(node, try parseAnd())
        }
        return node
    }

    private mutating func parseAnd() throws(ConditionError) -> Node {
        var node = try parseUnary()
        while current.kind == .symbol("&&") {
            _ = advance()
            node = .and(node, try parseUnary())
        }
        return node
    }

    private mutating func parseUnary() throws(ConditionError) -> Node {
        if current.kind == .symbol("!") {
            _ = advance()
            return .not(try parseUnary())
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ConditionError) -> Node {
        let left = try parsePrimary()
        if case .symbol(let symbol) = current.kind, let comparison = Node.Comparison(rawValue: symbol) {
            _ = advance()
            let right = try parsePrimary()
            if case .symbol(let next) = current.kind, Node.Comparison(rawValue: next) != nil {
                throw ConditionError(
                    column: current.column, message: "comparisons do not chain; use '&&' between them")
            }
            return .compare(comparison, left, right)
        }
        return left
    }

    private mutating func parsePrimary() throws(ConditionError) -> Node {
        let token = advance()
        switch token.kind {
        case .number(let value):
            return .literal(value)
        case .string(let text):
            return .literal(.string(text))
        case .symbol("("):
            let node = try parseOr()
            try expect(")")
            return node
        case .identifier("true"):
            return .literal(.bool(true))
        case .identifier("false"):
            return .literal(.bool(false))
        case .identifier("null"):
            return .literal(.null)
        case .identifier(let name) where current.kind == .symbol("("):
            return try parseCall(name, at: token.column)
        case .identifier(let name):
            guard ["after", "before", "changes"].contains(name) || Node.eventFields.contains(name) else {
                throw ConditionError(
                    column: token.column,
                    message:
                        "unknown name '\(name)'; paths start with after, before, changes, operation, entity_type, entity_id, tenant_id or source"
                )
            }
            var components: [String] = []
            while current.kind == .symbol(".") {
                _ = advance()
                let part = advance()
                switch part.kind {
                case .identifier(let component): components.append(component)
                case .number(.int(let number)): components.append(String(number))
                default:
                    throw ConditionError(
                        column: part.column, message: "expected a field name after '.', found \(describe(part))")
                }
            }
            return .path(root: name, components: components)
        default:
            throw ConditionError(column: token.column, message: "expected a value, found \(describe(token))")
        }
    }

    private mutating func parseCall(_ name: String, at column: Int) throws(ConditionError) -> Node {
        let arity: Int
        switch name {
        case "has_field", "field_changed": arity = 1
        case "field_changed_to", "field_changed_from": arity = 2
        default:
            throw ConditionError(
                column: column,
                message:
                    "unknown function '\(name)'; known: has_field, field_changed, field_changed_to, field_changed_from")
        }
        try expect("(")
        let fieldToken = advance()
        guard case .string(let field) = fieldToken.kind, !field.isEmpty else {
            throw ConditionError(
                column: fieldToken.column, message: "\(name) expects a quoted field name, found \(describe(fieldToken))"
            )
        }
        var argument: Node?
        if arity == 2 {
            try expect(",")
            argument = try parsePrimary()
        }
        guard current.kind == .symbol(")") else {
            throw ConditionError(
                column: current.column,
                message:
                    "\(name) takes \(arity) argument\(arity == 1 ? "" : "s"); expected ')', found \(describe(current))")
        }
        _ = advance()
        switch name {
        case "has_field": return .hasField(field)
        case "field_changed": return .fieldChanged(field)
        case "field_changed_to": return .fieldChangedTo(field, argument!)
        default: return .fieldChangedFrom(field, argument!)
        }
    }
}
