import Foundation

/// Finds the line of each key in TOML text, for error messages. Understands `[table]`,
/// `[[array]]`, dotted keys and quoted keys; values spanning lines are attributed to their first line.
enum KeyLines {
    static func scan(_ text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var inMultiline: String? = nil
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let delimiter = inMultiline {
                if line.contains(delimiter) { inMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                let name = normalize(String(line.dropFirst(2).prefix { $0 != "]" }))
                let parent = arrayParent(name, counts: arrayCounts)
                let index = arrayCounts[parent, default: -1] + 1
                arrayCounts[parent] = index
                prefix = "\(parent)[\(index)]"
                result[parent] = result[parent] ?? number
                result[prefix] = number
            } else if line.hasPrefix("[") {
                let name = normalize(String(line.dropFirst().prefix { $0 != "]" }))
                prefix = arrayParent(name, counts: arrayCounts, isTable: true)
                result[prefix] = number
            } else if let equals = line.firstIndex(of: "=") {
                let key = normalize(String(line[..<equals]))
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                result[full] = number
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                    if !value.dropFirst(3).contains(delimiter) { inMultiline = delimiter }
                }
            }
        }
        return result
    }

    private static func normalize(_ key: String) -> String {
        key.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        .joined(separator: ".")
    }

    /// `observers.actions` inside the second `[[observers]]` → `observers[1].actions`.
    private static func arrayParent(_ name: String, counts: [String: Int], isTable: Bool = false) -> String {
        let components = name.split(separator: ".")
        var resolved = ""
        for (position, component) in components.enumerated() {
            resolved = resolved.isEmpty ? String(component) : "\(resolved).\(component)"
            let isLast = position == components.count - 1
            if let index = counts[resolved], !isLast || isTable { resolved += "[\(index)]" }
        }
        return resolved
    }
}
