import ArgumentParser
import Contracts
import FleetClients
import Foundation
import Logging
import NATS
import Redis
import Runtime

/// `fraiseql-observer dead-letters`: the observer-worker's dead letters (Redis stream
/// `<prefix>observer:dlq`): list them (the default), or replay them.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract:
            "List or replay observer-worker dead letters (nats transport; the postgres transport keeps them in fraiseql_observer.dead_letters).",
        subcommands: [DeadLettersList.self, DeadLettersReplay.self], defaultSubcommand: DeadLettersList.self)
}

extension FleetConfiguration {
    var deadLetterStream: String { "\(redis.keyPrefix)observer:dlq" }
}

struct DeadLettersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The dead letters, oldest first: entry id, then the DeadLetter JSON.")

    @OptionGroup var options: ConfigOption
    @Option(help: "How many.") var count: Int = 20
    @Flag(help: "Print only the count.") var summary = false

    func run() async throws {
        let configuration = try options.load()
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

/// Publishes each dead letter's event again to the subject it came from, then deletes the
/// letter. The workers take it as a new message (its attempts start again) and, through the
/// done marks (kept `done_ttl`), run only the actions that were not done: an event dead-lettered
/// by one of its two actions gets that action only. Undecodable letters are left where they are:
/// they would fail the same way.
struct DeadLettersReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Publish dead-lettered events again (the actions not done run again), then delete the letters; undecodable ones stay."
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "Dead-letter entry ids (as `dead-letters` prints them); none with --all.") var entryIDs: [String] =
        []
    @Flag(help: "Replay every dead letter.") var all = false

    func run() async throws {
        guard all != !entryIDs.isEmpty else { throw ValidationError("give entry ids or --all") }
        let configuration = try options.load()
        guard configuration.observer.transport == "nats" else {
            FileHandle.standardError.write(
                Data("replay needs the nats transport; the postgres transport's dead letters are rows\n".utf8))
            throw ExitCode(1)
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let stream = configuration.deadLetterStream
        var (replayed, skipped, missing) = (0, 0, 0)
        func replay(_ entry: StreamEntry) async throws {
            guard let json = entry.fields["dead_letter"],
                let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(json))
            else {
                print("\(entry.id): skipped, not a dead letter")
                skipped += 1
                return
            }
            guard letter.reason != .undecodable else {
                print("\(entry.id): skipped, undecodable (it would fail again)")
                skipped += 1
                return
            }
            // Its own message id: the event's id (the bridge's) may still be in the stream's
            // duplicate window; the same letter replayed twice meanwhile is stored once.
            _ = try await jetStream.publish(
                OutgoingMessage(
                    subject: letter.origin, payload: Array(letter.payload.utf8), messageId: "replay-\(entry.id)"))
            _ = try await redis.execute("XDEL", [.string(stream), .string(entry.id)])
            print("\(entry.id): replayed event \(letter.eventId?.lowercasedString ?? "-") to \(letter.origin)")
            replayed += 1
        }
        if all {
            // The letters there now, in pages of 100 from the oldest: not those the workers add
            // meanwhile (a replayed event that fails again would be replayed again, without end).
            let newest = try await redis.execute("XREVRANGE", [.string(stream), "+", "-", "COUNT", 1])
            let end = newest.array?.first.flatMap { StreamEntry(reply: $0) }?.id ?? "0-0"
            var start = "-"
            while true {
                let reply = try await redis.execute(
                    "XRANGE", [.string(stream), .string(start), .string(end), "COUNT", 100])
                let entries = (reply.array ?? []).compactMap { StreamEntry(reply: $0) }
                for entry in entries { try await replay(entry) }
                guard let last = entries.last, entries.count == 100 else { break }
                start = "(\(last.id)"
            }
        } else {
            for id in entryIDs {
                let reply = try await redis.execute("XRANGE", [.string(stream), .string(id), .string(id)])
                guard let entry = reply.array?.first.flatMap({ StreamEntry(reply: $0) }) else {
                    print("\(id): no such dead letter")
                    missing += 1
                    continue
                }
                try await replay(entry)
            }
        }
        print("\(replayed) replayed, \(skipped) skipped, \(missing) not found")
        if missing > 0 { throw ExitCode(1) }
    }
}
