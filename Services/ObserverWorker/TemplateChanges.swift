import Contracts
import Foundation
import Mustache

/// `changes.<field>.old|new`.
struct TemplateChanges: MustacheParent {
    let changes: [String: FieldChange]
    func child(named name: String) -> Any? {
        guard let change = changes[name] else { return nil }
        var pair: [String: Any] = [:]
        pair["old"] = TemplateContext.plain(change.old)
        pair["new"] = TemplateContext.plain(change.new)
        return pair
    }
}
