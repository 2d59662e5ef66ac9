import ArgumentParser
import Contracts
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime

struct DeadLettersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The dead letters, oldest first: entry id, then the DeadLetter JSON.")

    @OptionGroup var options: ConfigOption
    @Option(help: "How many.") var count: Int = 20
    @Flag(help: "Print only the count.") var summary = false

    func run() async throws {
        let configuration = try options.load()
        if configuration.observer.transport == "postgres" {
            return try await PostgresDeadLetters.withConnection(configuration) { connection in
                try await PostgresDeadLetters.list(connection, count: count, summary: summary)
            }
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let stream = configuration.deadLetterStream
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
