/// Finds the table headers TOMLKit's parser (toml++ 3) would abort on instead of reporting.
///
/// toml++ asserts that the first character of a table header's key (after `[` or `[[` and spaces)
/// starts a key; `[#x]`, `[=` or a `[` at the end of a line abort the process (SIGABRT in debug
/// builds, undefined behaviour where asserts become assumptions). Found by `make fuzz` (config
/// target). This scan walks the text as TOML does (strings, comments, arrays and inline tables
/// in values) and reports such a header with its line, so the loader can refuse it as bad TOML.
enum TOMLHeaderCheck {
    /// The 1-based line of the first header whose key cannot start where it does; nil if none.
    static func firstBadHeader(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        // A byte-order mark is skipped, as toml++ does: the first line is still a line start.
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var depth = 0  // open `[` / `{` of values
        var atLineStart = true
        func peek(_ offset: Int = 0) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        func isKeyStart(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""),
                UInt8(ascii: "'"), UInt8(ascii: "]"):
                true
            default: false  // TOML 1.0 bare keys are ASCII: anything else must be quoted
            }
        }
        func skipString(quote: UInt8) {
            let multiline = peek(1) == quote && peek(2) == quote
            index += multiline ? 3 : 1
            while let byte = peek() {
                if byte == UInt8(ascii: "\n") {
                    if !multiline { return }
                    line += 1
                } else if byte == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                    if peek(1) == UInt8(ascii: "\n") { line += 1 }
                    index += 2
                    continue
                } else if byte == quote && (!multiline || (peek(1) == quote && peek(2) == quote)) {
                    index += multiline ? 3 : 1
                    // A multi-line string may end with up to two more quotes.
                    while multiline && peek() == quote { index += 1 }
                    return
                }
                index += 1
            }
        }
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                atLineStart = true
                index += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "#"):
                while let next = peek(), next != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString(quote: byte)
            case UInt8(ascii: "[") where atLineStart && depth == 0:
                index += 1
                if peek() == UInt8(ascii: "[") { index += 1 }
                while peek() == UInt8(ascii: " ") || peek() == UInt8(ascii: "\t") { index += 1 }
                guard let first = peek(), isKeyStart(first) else { return line }
                // The rest of the header is toml++'s to judge.
                while let next = peek(), next != UInt8(ascii: "\n") {
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "'") {
                        skipString(quote: next)
                    } else {
                        index += 1
                    }
                }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
                index += 1
            default:
                index += 1
            }
            atLineStart = false
        }
        return nil
    }
}
