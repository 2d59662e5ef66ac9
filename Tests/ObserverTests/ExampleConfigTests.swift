import Config
import FleetCore
import Foundation
import ObserverWorker
import Runtime
import Testing

@Suite("example configurations")
struct ExampleConfigTests {
    @Test("examples/demo.toml loads and its observers compile (the demo fills in the URLs)")
    func demo() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("examples/demo.toml"), encoding: .utf8)
        for (placeholder, value) in [
            ("@NATS_URL@", "nats://127.0.0.1:4222"), ("@REDIS_URL@", "redis://127.0.0.1:6379"),
            ("@POSTGRES_URL@", "postgres://app@127.0.0.1:5432/app"), ("@RECEIVER_PORT@", "8080"),
            ("@FLIGHT_PORT@", "8815"),
        ] {
            text = text.replacingOccurrences(of: placeholder, with: value)
        }
        let configuration = try FleetConfiguration(reader: ConfigFile(toml: text, environment: [:]))
        #expect(configuration.observers.count == 2)
        try ObserverWorker.validate(configuration)
    }

    @Test("validate: the postgres transport without [postgres] url is an error naming the key")
    func postgresTransportNeedsURL() throws {
        let text = """
            [observer]
            transport = "postgres"
            [[observers]]
            name = "hook"
            entity = "order"
            [[observers.actions]]
            kind = "log"
            """
        let configuration = try FleetConfiguration(reader: ConfigFile(toml: text, environment: [:]))
        #expect(throws: ConfigError.self) { try ObserverWorker.validate(configuration) }
        do {
            try ObserverWorker.validate(configuration)
        } catch {
            #expect(error.key == "postgres.url", "\(error)")
        }
        let withURL = try FleetConfiguration(
            reader: ConfigFile(
                toml: text + "\n[postgres]\nurl = \"postgres://app@127.0.0.1:5432/app\"", environment: [:]))
        try ObserverWorker.validate(withURL)
    }
}
