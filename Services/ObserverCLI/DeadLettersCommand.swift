import ArgumentParser
import Contracts
import FleetClients
import Foundation
import Logging
import Redis
import Runtime

/// `fraiseql-observer dead-letters`: the observer-worker's dead letters (Redis stream
/// `<prefix>observer:dlq`), oldest first, one JSON object per line.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract:
            "List observer-worker dead letters (nats transport; the postgres transport keeps them in fraiseql_observer.dead_letters)."
    )

    @OptionGroup var options: ConfigOption
    @Option(help: "How many.") var count: Int = 20
    @Flag(help: "Print only the count.") var summary = false

    func run() async throws {
        let configuration = try options.load()
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let stream = "\(configuration.redis.keyPrefix)observer:dlq"
        if summary {
            print("\(try await redis.xlen(stream)) dead letter(s) in \(stream)")
            return
        }
        let reply = try await redis.execute("XRANGE", [.string(stream), "-", "+", "COUNT", RedisArgument(count)])
        for value in reply.array ?? [] {
            guard let entry = StreamEntry(reply: value), let json = entry.string("dead_letter") else { continue }
            print("\(entry.id) \(json)")
        }
    }
}
