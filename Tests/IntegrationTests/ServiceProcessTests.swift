import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The service executables, run as processes: exit code 2 on bad configuration, readiness that
/// follows the servers, graceful exit on SIGTERM.
enum Binaries {
    /// Built next to the test bundle by `swift build --build-tests`.
    static func path(_ name: String) throws -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let path = directory.appendingPathComponent(name).path
        try #require(
            FileManager.default.isExecutableFile(atPath: path), "\(path) missing: run `swift build --build-tests`")
        return path
    }

    /// A service executable run with `--config path`, its ops port (`FRAISEQL_METRICS_LISTEN`) on
    /// a free loopback port. Not started: `start(waitForPort:)` with the returned port.
    static func service(
        _ name: String, config path: String, environment: [String: String] = [:], logFile: URL? = nil
    ) throws -> (ServerProcess, Int) {
        let port = try Stack.freePort()
        let process = ServerProcess(
            executable: try Self.path(name), arguments: ["--config", path],
            environment: environment.merging(["FRAISEQL_METRICS_LISTEN": "127.0.0.1:\(port)"]) { given, _ in given },
            logFile: logFile)
        return (process, port)
    }

    /// Runs to completion; returns the exit code and stdout. Waits on a thread of its own, never
    /// holding one of the cooperative pool's threads (on 2 cores, two waits would stall every test).
    static func output(_ name: String, _ arguments: [String]) async throws -> (Int32, String) {
        try await offPool { try outputBlocking(name, arguments) }
    }

    /// Runs to completion; returns the exit code and stderr (waiting off the cooperative pool).
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (
        Int32, String
    ) {
        try await offPool { try runBlocking(name, arguments, environment: environment) }
    }

    private static func outputBlocking(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(name))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func runBlocking(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (Int32, String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(name))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

func httpGet(_ url: String) async -> (Int, String)? {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 2
    guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// The value of the unlabelled metric `name` on a service's /metrics (nil when absent).
func metricValue(port: Int, _ name: String) async -> Double? {
    let text = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") }
}

@Suite("Service processes")
struct ServiceProcessTests {
    func writeConfig(_ text: String) throws -> String {
        let url = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test(
        "bad configuration exits with code 2 and names the key",
        arguments: [
            ("observer-worker", "[nats]\nurl = 5\n", "nats.url", ":2:"),
            ("pg-bridge", "[nats.stream]\nmax_agee = \"1d\"\n", "nats.stream.max_agee", ":2:"),
            ("job-worker", "[jobs]\nconcurrency = \"many\"\n", "jobs.concurrency", ":2:"),
            ("fraiseql-observer", "[observer]\ntransport = \"kafka\"\n", "observer.transport", ":2:"),
            (
                "observer-worker",
                "[[observers]]\nname = \"o\"\nentity = \"order\"\ncondition = \"after.total >\"\n[[observers.actions]]\nkind = \"log\"\n",
                "observers[0].condition", "column 14"
            ),
            (
                "fraiseql-observer",
                "[[observers]]\nname = \"o\"\nentity = \"order\"\n[[observers.actions]]\nkind = \"webhook\"\nurll = \"http://x\"\n",
                "observers[0].actions[0].urll", "unknown key"
            ),
        ])
    func badConfiguration(binary: String, text: String, key: String, detail: String) async throws {
        let path = try writeConfig(text)
        let arguments = binary == "fraiseql-observer" ? ["validate", "--config", path] : ["--config", path]
        let (status, errors) = try await Binaries.run(binary, arguments)
        #expect(status == 2)
        #expect(errors.contains(key), "\(errors)")
        #expect(errors.contains(detail), "\(detail) not in \(errors)")
    }

    @Test("a missing configuration file exits with code 2")
    func missingFile() async throws {
        let (status, errors) = try await Binaries.run("flight-server", ["--config", "/nonexistent/fraiseql.toml"])
        #expect(status == 2)
        #expect(errors.contains("not found"))
    }

    @Test("an environment variable overrides the file for the running service")
    func environmentOverride() async throws {
        let path = try writeConfig("[nats]\nurl = \"nats://127.0.0.1:4222\"\n")
        let (status, errors) = try await Binaries.run(
            "fraiseql-observer", ["validate", "--config", path], environment: ["FRAISEQL_NATS_STREAM_REPLICAS": "nine"])
        #expect(status == 2)
        #expect(errors.contains("FRAISEQL_NATS_STREAM_REPLICAS"))
    }

    @Test("ready when NATS and Redis are up, not ready when NATS is not; SIGTERM exits cleanly")
    func readinessAndShutdown() async throws {
        let natsURL = try Stack.url("NATS_URL")
        let redisURL = try Stack.url("REDIS_URL")
        let deadNATS = "nats://127.0.0.1:\(try Stack.freePort())"
        for (nats, expectReady) in [(natsURL, true), (deadNATS, false)] {
            let port = try Stack.freePort()
            let stream = Stack.unique("READY").uppercased()
            let path = try writeConfig(
                "[nats]\nurl = \"\(nats)\"\nsubject_prefix = \"\(stream.lowercased())\"\n[nats.stream]\nname = \"\(stream)\"\n[redis]\nurl = \"\(redisURL)\"\n[metrics]\nlisten = \"127.0.0.1:\(port)\"\n"
            )
            let server = ServerProcess(executable: try Binaries.path("observer-worker"), arguments: ["--config", path])
            try await server.start(waitForPort: port)
            var last: (Int, String)?
            for _ in 0..<50 {
                last = await httpGet("http://127.0.0.1:\(port)/health/ready")
                if last?.0 == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect((last?.0 == 200) == expectReady, "\(String(describing: last))")
            if !expectReady {
                #expect(last?.0 == 503)
                #expect(last?.1.contains(#""nats":false"#) == true)
            }
            #expect(await httpGet("http://127.0.0.1:\(port)/health/live")?.0 == 200)
            let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")
            #expect(metrics?.0 == 200)
            #expect(server.stop() == 0, "observer-worker did not exit cleanly on SIGTERM")
        }
    }

    @Test("NATS refusing the credentials: /health/live fails (the client gave up), the log says why, not the password")
    func refusedCredentials() async throws {
        let directory = try Stack.temporaryDirectory()
        let natsPort = try Stack.freePort()
        let nats = ServerProcess(
            executable: Stack.binary("NATS_SERVER_BIN", default: "nats-server"),
            arguments: [
                "-js", "-a", "127.0.0.1", "-p", "\(natsPort)", "-sd", directory.path, "--user", "fleet", "--pass",
                "right-password",
            ])
        try await nats.start(waitForPort: natsPort)
        let port = try Stack.freePort()
        let log = directory.appendingPathComponent("flight-server.log")
        let path = try writeConfig(
            "[nats]\nurl = \"nats://fleet:wrong-password@127.0.0.1:\(natsPort)\"\n[metrics]\nlisten = \"127.0.0.1:\(port)\"\n"
        )
        let server = ServerProcess(
            executable: try Binaries.path("flight-server"), arguments: ["--config", path], logFile: log)
        try await server.start(waitForPort: port)
        let dead = try await eventually(.seconds(10)) {
            await httpGet("http://127.0.0.1:\(port)/health/live")?.0 == 503
        }
        #expect(dead, "a NATS client that gave up must fail liveness")
        #expect(await httpGet("http://127.0.0.1:\(port)/health/live")?.1.contains(#""nats""#) == true)
        #expect(server.stop() == 0)
        nats.stop()
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("closed for good"), "\(text.suffix(500))")
        #expect(!text.contains("wrong-password"))
    }
}
