import Foundation
import Testing

/// A command run to completion; its output goes to a file so that a daemon it forks (pg_ctl)
/// cannot hold a pipe open.
struct Command {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed: \(output)" }
    }

    /// Runs `executable` (as `user` through runuser when the tests run as root).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asUser user: String? = nil) throws -> String {
        var command = [executable] + arguments
        if let user, getuid() == 0 { command = [try ServerProcess.which("runuser"), "-u", user, "--"] + command }
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let status = try ServerProcess(
            executable: command[0], arguments: Array(command.dropFirst()), logFile: outputFile
        ).run()
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure(command: command.joined(separator: " "), output: output) }
        return output
    }
}

/// A PostgreSQL cluster of the scenario's own (initdb in a temporary directory, password
/// authentication over TCP, optional TLS), so that a scenario can restart it.
final class PostgresServer: @unchecked Sendable {
    let port: Int
    let directory: URL
    let password: String
    let tls: Bool
    private var running = false

    static var bin: String {
        get throws {
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            let latest = try #require(
                versions.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last,
                "PostgreSQL is not installed (make test installs it)")
            return "/usr/lib/postgresql/\(latest)/bin"
        }
    }

    private var data: String { directory.appendingPathComponent("data").path }

    init(password: String, certificate: (cert: String, key: String)? = nil) throws {
        directory = try Stack.temporaryDirectory()
        port = try Stack.freePort()
        self.password = password
        tls = certificate != nil
        let passwordFile = directory.appendingPathComponent("pwfile")
        try password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0 { try Command.run("/bin/chown", ["-R", "postgres:postgres", directory.path]) }
        try Command.run(
            "\(try Self.bin)/initdb",
            [
                "--no-sync", "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--pwfile=\(passwordFile.path)", "-D", data,
            ], asUser: "postgres")
        if let certificate {
            // The server wants its key private and owned by its own user.
            for (source, name) in [(certificate.cert, "server.crt"), (certificate.key, "server.key")] {
                let target = "\(data)/\(name)"
                try FileManager.default.copyItem(atPath: source, toPath: target)
                if getuid() == 0 { try Command.run("/bin/chown", ["postgres:postgres", target]) }
                try Command.run("/bin/chmod", ["600", target])
            }
        }
        try start()
    }

    func start() throws {
        var options =
            "-c listen_addresses=127.0.0.1 -p \(port) -c unix_socket_directories=\(directory.path) -c fsync=off"
            + " -c max_connections=100"
        if tls { options += " -c ssl=on" }
        try Command.run(
            "\(try Self.bin)/pg_ctl",
            ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-o", options, "start"],
            asUser: "postgres")
        running = true
    }

    /// `immediate` is a crash (no checkpoint); `fast` a clean shutdown that disconnects clients.
    func stop(immediate: Bool = false) throws {
        guard running else { return }
        running = false
        try Command.run(
            "\(try Self.bin)/pg_ctl", ["-D", data, "-m", immediate ? "immediate" : "fast", "-w", "stop"],
            asUser: "postgres")
    }

    func url(database: String = "postgres") -> String {
        "postgres://postgres:\(password)@127.0.0.1:\(port)/\(database)"
    }

    deinit {
        try? stop(immediate: true)
        try? FileManager.default.removeItem(at: directory)
    }
}

/// One nats-server with JetStream, or a cluster of three on loopback, with user/password auth.
final class NATSServers: @unchecked Sendable {
    let nodes: [ServerProcess]
    let ports: [Int]
    private var directories: [URL] = []
    let user = "fleet"
    let password: String

    init(nodes count: Int, password: String, tls: (cert: String, key: String)? = nil) async throws {
        self.password = password
        let ports = try (0..<count).map { _ in try Stack.freePort() }
        let clusterPorts = try (0..<count).map { _ in try Stack.freePort() }
        var nodes: [ServerProcess] = []
        for index in 0..<count {
            let directory = try Stack.temporaryDirectory()
            directories.append(directory)
            var arguments = [
                "-js", "-a", "127.0.0.1", "-p", "\(ports[index])", "-sd", directory.path, "--user", user, "--pass",
                password, "-n", "node-\(index)",
            ]
            if count > 1 {
                let routes = clusterPorts.enumerated().filter { $0.offset != index }.map {
                    "nats://127.0.0.1:\($0.element)"
                }
                arguments += [
                    "--cluster_name", "e2e", "--cluster", "nats://127.0.0.1:\(clusterPorts[index])", "--routes",
                    routes.joined(separator: ","),
                ]
            }
            if let tls { arguments += ["--tls", "--tlscert", tls.cert, "--tlskey", tls.key] }
            nodes.append(
                ServerProcess(
                    executable: Stack.binary("NATS_SERVER_BIN", default: "nats-server"), arguments: arguments,
                    logFile: directory.appendingPathComponent("nats.log")))
        }
        self.nodes = nodes
        self.ports = ports
        for (node, port) in zip(nodes, ports) { try await node.start(waitForPort: port) }
    }

    /// Every node, with credentials: the client tries them in turn.
    func url(scheme: String = "nats") -> String {
        ports.map { "\(scheme)://\(user):\(password)@127.0.0.1:\($0)" }.joined(separator: ",")
    }

    func restart(node index: Int, kill: Bool) async throws {
        nodes[index].stop(kill: kill)
        try await nodes[index].start(waitForPort: ports[index])
    }

    deinit {
        for node in nodes { node.stop(kill: true) }
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
    }
}

/// redis-server with a password and an append-only file (`appendfsync always` unless told
/// otherwise; a kill -9 of the process loses no acknowledged write either way, since Redis writes
/// the file before it answers).
final class RedisServer: @unchecked Sendable {
    let process: ServerProcess
    let port: Int
    let password: String
    let tls: Bool
    private let directory: URL

    /// With `certificate`, TLS only (`--port 0 --tls-port`).
    init(password: String, certificate: (cert: String, key: String)? = nil, fsync: String = "always") async throws {
        directory = try Stack.temporaryDirectory()
        port = try Stack.freePort()
        self.password = password
        tls = certificate != nil
        var ports = ["--port", "\(port)"]
        if let certificate {
            ports = [
                "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", certificate.cert, "--tls-key-file",
                certificate.key, "--tls-ca-cert-file", certificate.cert, "--tls-auth-clients", "no",
            ]
        }
        process = ServerProcess(
            executable: Stack.binary("REDIS_SERVER_BIN", default: "redis-server"),
            arguments: [
                "--bind", "127.0.0.1", "--dir", directory.path, "--save", "", "--appendonly", "yes", "--appendfsync",
                fsync, "--requirepass", password,
            ] + ports, logFile: directory.appendingPathComponent("redis.log"))
        try await process.start(waitForPort: port)
    }

    var url: String { "\(tls ? "rediss" : "redis")://:\(password)@127.0.0.1:\(port)" }

    func restart(kill: Bool) async throws {
        process.stop(kill: kill)
        try await process.start(waitForPort: port)
    }

    deinit {
        process.stop(kill: true)
        try? FileManager.default.removeItem(at: directory)
    }
}
