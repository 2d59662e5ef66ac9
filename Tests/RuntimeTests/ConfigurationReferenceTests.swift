import Config
import FleetCore
import Foundation
import Testing

/// docs/configuration.md against the code: every key the services read (the keys the
/// configuration reader was asked for while loading the example configurations and a file with
/// every section) has a row, and every row names a key the code reads.
@Suite("the configuration reference matches the code")
struct ConfigurationReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A file with every section and array of tables, so that their keys are asked for.
    static let dense = """
        [log]
        [nats]
        [nats.stream]
        [redis]
        [postgres]
        url = "postgres://a@b/c"
        [mysql]
        [mssql]
        [bridge]
        [[bridge.tables]]
        table = "public.orders"
        entity = "order"
        [observer]
        [[observers]]
        name = "o"
        entity = "order"
        backoff = { base = "1s" }
        [[observers.actions]]
        kind = "log"
        [search]
        [jobs]
        backoff = { base = "1s" }
        [smtp]
        [flight]
        [[flight.tokens]]
        name = "t"
        token = "xxxxxxxxxxxxxxxxxxxxxxxx"
        roles = ["events:read"]
        [flight.jwt]
        algorithm = "HS256"
        secret = "0123456789abcdef0123456789abcdef"
        [flight.limits]
        [gateway]
        [[gateway.tokens]]
        name = "g"
        token = "yyyyyyyyyyyyyyyyyyyyyyyy"
        role = "read"
        [[gateway.services]]
        name = "s"
        url = "http://127.0.0.1:9090"
        [metrics]
        """

    /// The keys the code asks for, indexes folded (`observers[].name`), `_env`/`_file` forms of
    /// secrets folded into their key.
    static func keysRead() throws -> Set<String> {
        var texts = [dense]
        let examples = root.appendingPathComponent("examples")
        for file in try FileManager.default.contentsOfDirectory(atPath: examples.path) where file.hasSuffix(".toml") {
            // The demo's placeholders (scripts/demo.sh fills them in).
            var text = try String(contentsOf: examples.appendingPathComponent(file), encoding: .utf8)
            for (placeholder, value) in [
                ("@NATS_URL@", "nats://127.0.0.1:4222"), ("@REDIS_URL@", "redis://127.0.0.1:6379"),
                ("@POSTGRES_URL@", "postgres://a@127.0.0.1/c"), ("@MYSQL_URL@", "mysql://a@127.0.0.1/c"),
            ] {
                text = text.replacingOccurrences(of: placeholder, with: value)
            }
            texts.append(text.replacingOccurrences(of: #"@[A-Z_]+_PORT@"#, with: "8080", options: .regularExpression))
        }
        var keys = Set<String>()
        for text in texts {
            let reader = try ConfigFile(toml: text, environment: [:])
            _ = try FleetConfiguration(reader: reader)
            keys.formUnion(reader.keysRead)
        }
        return Set(
            keys.map { key in
                var key = key.replacingOccurrences(of: #"\[\d+\]"#, with: "[]", options: .regularExpression)
                for suffix in ["_env", "_file"]
                where key.hasSuffix(suffix) && !key.hasSuffix("_key_file")
                    && !key.hasSuffix("_cert_file") && !key.hasSuffix("_ca_file") && key != "smtp.ca_file"
                {
                    key.removeLast(suffix.count)
                }
                return key
            })
    }

    /// The documented keys: the backticked names of the first column of the reference's tables
    /// (`.entity` after `observers[].name` is `observers[].entity`), and the per-kind keys of
    /// actions (the action table's second column) as `observers[].actions[].<key>`.
    static func documented() throws -> (keys: Set<String>, prefixes: Set<String>) {
        let text = try String(
            contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        var keys = Set<String>()
        var prefixes = Set<String>()
        let kinds: Set<String> = ["webhook", "slack", "email", "search", "job", "log"]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count > 2 else { continue }
            let names = Self.backticked(cells[1])
            if names.count == 1, kinds.contains(names[0]) {
                for key in Self.backticked(cells[2]) where !key.contains(" ") {
                    keys.insert("observers[].actions[].\(key)")
                }
                continue
            }
            var previous = ""
            for name in names {
                var key = name
                if key.hasPrefix("."), let dot = previous.lastIndex(of: ".") {
                    key = String(previous[..<dot]) + key
                }
                guard key.contains(".") || key.contains("[]") else { continue }
                if key.hasSuffix("[]") { prefixes.insert(key + ".") } else { keys.insert(key) }
                previous = key
            }
        }
        return (keys, prefixes)
    }

    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().compactMap {
            $0.offset % 2 == 1 ? String($0.element) : nil
        }
    }

    @Test("every key the code reads is documented")
    func codeKeysDocumented() throws {
        let (keys, prefixes) = try Self.documented()
        let undocumented = try Self.keysRead().filter { key in
            // A table-valued key (`observer.backoff = {kind, base, …}`) documents its fields.
            !keys.contains(key) && !prefixes.contains { key.hasPrefix($0) }
                && !keys.contains { key.hasPrefix($0 + ".") }
        }
        #expect(undocumented.isEmpty, "read by the code, missing in docs/configuration.md: \(undocumented.sorted())")
    }

    @Test("every documented key is read by the code")
    func documentedKeysRead() throws {
        let read = try Self.keysRead()
        let (keys, prefixes) = try Self.documented()
        let stale = keys.filter { key in
            !read.contains(key) && !read.contains { $0.hasPrefix(key + ".") }
                && !key.hasPrefix("observers[].actions[].")
        }
        #expect(stale.isEmpty, "in docs/configuration.md, never read by the code: \(stale.sorted())")
        for prefix in prefixes {
            #expect(read.contains { $0.hasPrefix(prefix) }, "\(prefix) documented, never read")
        }
    }
}
