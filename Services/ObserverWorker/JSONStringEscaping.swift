import Contracts
import Foundation
import Mustache

/// Escapes text for the inside of a JSON string (the wire format's escaping, without the quotes).
struct JSONStringEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        String(FastJSON.quoted(text).dropFirst().dropLast())
    }
}
