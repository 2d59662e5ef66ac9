import ArgumentParser

/// The exit codes of `fraiseql-observer` (docs/operations.md, "CLI exit codes").
enum CLIExit {
    /// Done.
    static let ok: Int32 = 0
    /// Done in part: a letter not found, not retried or not removed; `status` found a problem.
    static let partial: Int32 = 1
    /// Bad configuration or usage (as every service: exit 2 names the key).
    static let usage: Int32 = 2
    /// A server or the gateway could not be reached.
    static let unavailable: Int32 = 3
    /// The gateway refused the token (missing, wrong, or read-only for an admin call).
    static let refused: Int32 = 4
    /// What the command names does not exist (a queue, a letter).
    static let notFound: Int32 = 5
}
