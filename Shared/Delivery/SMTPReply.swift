import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

/// An SMTP reply: its code and text lines.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]

    func expect(_ expected: Int, _ step: String, or alternative: Int? = nil) throws(DeliveryError) {
        guard code != expected, code != alternative else { return }
        // Relays often repeat the address in their reply: addresses are personal data.
        let reply = lines.joined(separator: " / ").replacing(/[^\s<>]+@[^\s<>]+/, with: "***")
        let text = "SMTP \(step) refused: \(code) \(reply)"
        throw DeliveryError((400..<500).contains(code) ? .retryable : .permanent, text)
    }
}
