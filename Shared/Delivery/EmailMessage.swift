import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

/// One e-mail: plain-text UTF-8 body.
public struct EmailMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// `Message-ID` without angle brackets: the idempotency key a receiver can deduplicate on.
    public var messageID: String
    public var extraHeaders: [(String, String)]

    public init(
        from: String, to: [String], subject: String, body: String, messageID: String,
        extraHeaders: [(String, String)] = []
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.extraHeaders = extraHeaders
    }

    /// The RFC 5322 message: headers, blank line, body with CRLF line ends and dot-stuffing
    /// applied by the sender.
    public func rendered(date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var headers: [(String, String)] = [
            ("From", from), ("To", to.joined(separator: ", ")), ("Subject", Self.encodeHeader(subject)),
            ("Date", formatter.string(from: date)), ("Message-ID", "<\(messageID)>"), ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit"),
        ]
        headers += extraHeaders.map { ($0.0, Self.encodeHeader($0.1)) }
        let head = headers.map { "\($0.0): \(Self.singleLine($0.1))" }.joined(separator: "\r\n")
        return head + "\r\n\r\n" + Self.crlfLines(body)
    }

    /// Every line break (CR LF, a lone LF, a lone CR) as CR LF: a lone CR or LF in a body is how
    /// SMTP smuggling hides a second message behind `<LF>.<CR><LF>` from servers that read it
    /// differently.
    static func crlfLines(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        var previousCR = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\r"):
                bytes += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
                previousCR = true
                continue
            case UInt8(ascii: "\n") where previousCR: break  // the LF of a CR LF already written
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
            default: bytes.append(byte)
            }
            previousCR = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Header values may not contain line breaks (header injection).
    static func singleLine(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047 encoded-word for non-ASCII header text.
    static func encodeHeader(_ value: String) -> String {
        guard !value.allSatisfy(\.isASCII) else { return value }
        return "=?UTF-8?B?\(Data(singleLine(value).utf8).base64EncodedString())?="
    }
}
