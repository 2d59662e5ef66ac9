import Foundation
import Testing

/// The servers of the local stack (`scripts/stack.sh up`, which `make test` runs). A test that
/// needs one fails loudly when its URL is missing; it never skips.
enum Stack {
    static func url(_ name: String) throws -> String {
        try #require(
            ProcessInfo.processInfo.environment[name],
            "\(name) is not set: run the tests with `make test` (it starts the local stack)")
    }

    static func binary(_ variable: String, default name: String) -> String {
        ProcessInfo.processInfo.environment[variable] ?? name
    }

    static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `127.0.0.1:port` as a socket address.
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fraiseql-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The Python interpreter with the test peers' packages (`PYTHON_BIN` from .stack/env).
    static var python: String { ProcessInfo.processInfo.environment["PYTHON_BIN"] ?? "python3" }

    static func unique(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A server process a test starts itself (to stop and restart it without disturbing other tests).
/// Spawned with `posix_spawn` and reaped with `waitpid`, so no run loop is involved.
final class ServerProcess: @unchecked Sendable {
    let executable: String
    let arguments: [String]
    let environment: [String: String]
    /// Where stdout and stderr go (appended across restarts); /dev/null when nil.
    let logFile: URL?
    private var pid: pid_t = 0
    /// The running process's id (0 before `start`).
    var processID: pid_t { pid }

    init(executable: String, arguments: [String], environment: [String: String] = [:], logFile: URL? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logFile = logFile
    }

    var isRunning: Bool { pid > 0 }

    func start(waitForPort port: Int) async throws {
        try spawn()
        for _ in 0..<200 {
            if Self.canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw POSIXError(.ETIMEDOUT)
    }

    /// Runs to completion (a command, not a server). Foundation's `Process` can wait forever when
    /// the command leaves a daemon behind (`pg_ctl start`); `waitpid` waits for the command only.
    /// - Returns: the exit code, or 128 + signal.
    func run() throws -> Int32 {
        try spawn()
        return stop(signal: nil)
    }

    private func spawn() throws {
        let path = executable.hasPrefix("/") ? executable : try Self.which(executable)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let logFile {
            posix_spawn_file_actions_addopen(&actions, 1, logFile.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            // FRAISEQL_TEST_SERVER_LOGS=1 shows the servers' stderr (debugging a server that does not start).
            if ProcessInfo.processInfo.environment["FRAISEQL_TEST_SERVER_LOGS"] == nil {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Test threads may block signals and the child would inherit that: reset mask and handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let variables = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        let status = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL) }
        pid = child
    }

    /// SIGTERM (graceful) or SIGKILL, then wait for the exit.
    /// - Returns: the exit code, or 128 + signal when killed by a signal.
    @discardableResult
    func stop(kill: Bool = false) -> Int32 { stop(signal: kill ? SIGKILL : SIGTERM) }

    private func stop(signal: Int32?) -> Int32 {
        guard pid > 0 else { return -1 }
        if let signal { Foundation.kill(pid, signal) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    deinit { stop(kill: true) }

    static func canConnect(port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = Stack.loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A nats-server with JetStream of the test's own, on `port` with its store in `directory`.
    static func natsServer(port: Int, directory: URL) -> ServerProcess {
        ServerProcess(
            executable: Stack.binary("NATS_SERVER_BIN", default: "nats-server"),
            arguments: ["-js", "-a", "127.0.0.1", "-p", "\(port)", "-sd", directory.path])
    }

    /// A redis-server of the test's own, on `port` with its data in `directory`.
    static func redisServer(port: Int, directory: URL) -> ServerProcess {
        ServerProcess(
            executable: Stack.binary("REDIS_SERVER_BIN", default: "redis-server"),
            arguments: ["--bind", "127.0.0.1", "--port", "\(port)", "--dir", directory.path, "--save", ""])
    }

    static func which(_ name: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + [
            "/usr/sbin", "/usr/bin",
        ] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw POSIXError(.ENOENT)
    }
}

/// Runs a blocking call (a child process waited for, a file written by a tool) on a thread of its
/// own, so the test does not hold one of the cooperative pool's few threads while it waits (on
/// 2 cores two such waits would stall every other test).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
