import ArgumentParser
import Contracts

/// A time option of the CLI: RFC 3339, or a usage error naming the option.
enum CLITime {
    static func parse(_ text: String?, _ option: String) throws -> Timestamp? {
        guard let text else { return nil }
        guard let time = Timestamp(rfc3339: text) else { throw ValidationError("--\(option) is not an RFC 3339 time") }
        return time
    }
}
