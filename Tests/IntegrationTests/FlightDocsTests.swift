import Foundation
import Testing

/// docs/flight.md is true: its ticket examples pass the JSON Schema and the server, its client
/// examples run against a server and print what was published.
@Suite("docs/flight.md examples", .serialized)
struct FlightDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The fenced blocks of `language` in docs/flight.md.
    static func blocks(_ language: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/flight.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test("every ticket example passes the JSON Schema and the server; a wrong one fails both")
    func tickets() async throws {
        let server = try await FlightServerTests.Server()
        try await server.publish(12)
        let schema = Self.root.appendingPathComponent("docs/flight-ticket.schema.json").path
        let examples = try Self.blocks("json")
        #expect(examples.count >= 4)
        for example in examples {
            let ticket = try JSONSerialization.jsonObject(with: Data(example.utf8))
            let verdict = try FlightServerTests.client(
                server, ["op": "validate", "schema": schema, "instance": ticket])
            #expect(verdict["valid"] as? Bool == true, "\(example): \(verdict)")
            if example.contains("tail") {
                // A live tail: read while an event is published, then cancel.
                let request: [String: Any] = [
                    "op": "read", "token": FlightServerTests.admin, "ticket": ticket, "max_batches": 1,
                ]
                let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
                let reading = Task {
                    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
                    let result = try FlightServerTests.client(server, object)
                    return (result["error"] == nil, "\(result)")
                }
                // Publish once the tail's ordered consumer exists.
                _ = try await eventually(.seconds(10)) {
                    try await server.jetStream.streamInfo(server.stream).consumerCount == 1
                }
                try await server.publish(1, offset: 12)
                let (ok, result) = try await reading.value
                #expect(ok, "\(example): \(result)")
                continue
            }
            let read = try FlightServerTests.client(
                server, ["op": "read", "token": FlightServerTests.admin, "ticket": ticket])
            #expect(read["error"] == nil, "\(example): \(read)")
        }
        let wrong: [String: Any] = ["kind": "events", "limt": 5]
        let verdict = try FlightServerTests.client(server, ["op": "validate", "schema": schema, "instance": wrong])
        #expect(verdict["valid"] as? Bool == false)
        try await server.stop()
    }

    @Test("the Python, DuckDB and chDB examples run and count the published events")
    func clients() async throws {
        let server = try await FlightServerTests.Server()
        try await server.publish(45)
        let orders = server.events.filter { $0.event.entityType == "order" }.count
        let examples = try Self.blocks("python").filter { $0.hasPrefix("# example:") }
        #expect(examples.count == 3)
        let directory = try Stack.temporaryDirectory()
        for example in examples {
            let name = example.split(separator: "\n")[0].dropFirst("# example: ".count)
            // Not named after a module the example imports (duckdb.py would shadow duckdb).
            let file = directory.appendingPathComponent("example_\(name.replacingOccurrences(of: "-", with: "_")).py")
            try example.write(to: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", file.path]
            var environment = ProcessInfo.processInfo.environment
            environment["FLIGHT_LOCATION"] = server.location
            environment["FLIGHT_TOKEN"] = FlightServerTests.admin
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(name): \(text)")
            let expected = name == "pyarrow-polars" ? orders : 45
            #expect(text.contains("rows: \(expected)"), "\(name): \(text)")
        }
        try await server.stop()
    }
}
