import Contracts
import Foundation
import Mustache

/// A row (`before`, `after`) or a nested JSON object.
struct TemplateRow: MustacheParent {
    let fields: [String: JSONValue]
    func child(named name: String) -> Any? { fields[name].flatMap(TemplateContext.plain) }
}
