import Foundation

/// JSON as the commands print it with `--format json`: the gateway's encoding, keys sorted.
enum CLIOutput {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
