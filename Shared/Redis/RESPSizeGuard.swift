/// Refuses a reply that announces more elements than any reply of the fleet holds, before hiredis
/// sees it: hiredis 0.14 (Debian 12) allocates an announced array at once, so `*904440492` from
/// a server (or from anyone on an unencrypted link) made the client allocate 7 GB. Found by
/// `make fuzz` (resp target).
///
/// Follows the byte stream fed to hiredis across reads: line headers, and bulk payloads skipped
/// by their length (their bytes are data, never headers).
struct RESPSizeGuard {
    /// Elements of one aggregate (a map's pairs count twice). The fleet's largest replies are
    /// stream ranges of at most a few thousand entries.
    static let maxElements: Int64 = 1 << 20
    /// Bytes of one bulk string: Redis's own ceiling (`proto-max-bulk-len`, 512 MB by default).
    static let maxBulkBytes: Int64 = 512 << 20

    private enum State {
        case lineStart
        /// Reading the decimal length after a type byte.
        case length(type: UInt8, value: Int64, negative: Bool, digits: Int)
        /// Up to the end of the header line, then `bulk` bytes of payload (with its CRLF) to skip.
        case restOfLine(bulk: Int64)
        case payload(remaining: Int64)
    }

    private var state = State.lineStart

    static func isAggregate(_ type: UInt8) -> Bool {
        type == UInt8(ascii: "*") || type == UInt8(ascii: "%") || type == UInt8(ascii: "~")
            || type == UInt8(ascii: ">") || type == UInt8(ascii: "|")
    }

    static func isBulk(_ type: UInt8) -> Bool {
        type == UInt8(ascii: "$") || type == UInt8(ascii: "=") || type == UInt8(ascii: "!")
    }

    mutating func check(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .lineStart:
                let type = bytes[index]
                index += 1
                state =
                    Self.isAggregate(type) || Self.isBulk(type)
                    ? .length(type: type, value: 0, negative: false, digits: 0) : .restOfLine(bulk: 0)
            case .length(let type, let value, let negative, let digits):
                let byte = bytes[index]
                if byte == UInt8(ascii: "-") && digits == 0 && !negative {
                    state = .length(type: type, value: value, negative: true, digits: 0)
                    index += 1
                } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    // Past 2^40 the exact value no longer matters: it is over every limit.
                    let next = value < (1 << 40) ? value * 10 + Int64(byte - UInt8(ascii: "0")) : value
                    state = .length(type: type, value: next, negative: negative, digits: digits + 1)
                    index += 1
                } else {
                    // The header's number ended (hiredis judges the rest of the line).
                    let count = negative ? -value : value
                    if Self.isAggregate(type) {
                        let elements = type == UInt8(ascii: "%") || type == UInt8(ascii: "|") ? count * 2 : count
                        guard elements <= Self.maxElements else {
                            throw RedisError(
                                code: .protocolError,
                                message:
                                    "a reply announces \(elements) elements, over the client's limit of \(Self.maxElements)"
                            )
                        }
                        state = .restOfLine(bulk: 0)
                    } else {
                        guard count <= Self.maxBulkBytes else {
                            throw RedisError(
                                code: .protocolError,
                                message:
                                    "a reply announces a \(count)-byte string, over the client's limit of \(Self.maxBulkBytes)"
                            )
                        }
                        state = .restOfLine(bulk: count >= 0 ? count + 2 : 0)
                    }
                }
            case .restOfLine(let bulk):
                guard let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                    index = bytes.count
                    continue
                }
                index = end + 1
                state = bulk > 0 ? .payload(remaining: bulk) : .lineStart
            case .payload(let remaining):
                let skipped = min(remaining, Int64(bytes.count - index))
                index += Int(skipped)
                state = remaining == skipped ? .lineStart : .payload(remaining: remaining - skipped)
            }
        }
    }
}
