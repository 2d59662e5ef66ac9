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

/// Publishes each dead letter's event again to the subject it came from, then deletes the
/// letter. The workers take it as a new message (its attempts start again) and, through the
/// done marks (kept `done_ttl`), run only the actions that were not done: an event dead-lettered
/// by one of its two actions gets that action only. Left where they are: undecodable letters
/// (they would fail the same way), letters whose subject this configuration's workers do not
/// consume (another prefix or fleet), those not of `--reason`, and those whose publish failed.
struct DeadLettersReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Publish dead-lettered events again (the actions not done run again), then delete the letters; undecodable ones stay."
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "Dead-letter entry ids (as `dead-letters` prints them); none with --all.") var entryIDs: [String] =
        []
    @Flag(help: "Replay every dead letter there when the command starts.") var all = false
    @Option(help: "Only letters with this reason (permanent_error, retries_exhausted).")
    var reason: String?

    func run() async throws {
        guard all != !entryIDs.isEmpty else { throw ValidationError("give entry ids or --all") }
        let only = try reason.map { name in
            guard let reason = DeadLetter.Reason(rawValue: name), reason != .undecodable else {
                throw ValidationError("--reason is permanent_error or retries_exhausted")
            }
            return reason
        }
        let configuration = try options.load()
        if configuration.observer.transport == "postgres" {
            let ok = try await PostgresDeadLetters.withConnection(configuration) { connection in
                try await PostgresDeadLetters.replay(connection, ids: all ? nil : entryIDs, reason: only)
            }
            if !ok { throw ExitCode(1) }
            return
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let stream = configuration.deadLetterStream
        let consumed = "\(configuration.nats.subjectPrefix)."
        var tally = ReplayTally()
        func replay(_ entry: StreamEntry) async -> ReplayTally.Outcome {
            guard let json = entry.fields["dead_letter"],
                let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(json))
            else { return .skipped("not a dead letter") }
            if let why = ReplayTally.leftAlone(letter.reason, only: only) { return .skipped(why) }
            guard letter.origin.hasPrefix(consumed) else {
                return .skipped("\(letter.origin) is not under this configuration's subject prefix")
            }
            do {
                // The letter's own id as message id: the event's (the bridge's) may still be in
                // the stream's duplicate window; the same letter replayed twice meanwhile is
                // stored once (a duplicate means it is already there).
                let ack = try await jetStream.publish(
                    OutgoingMessage(
                        subject: letter.origin, payload: Array(letter.payload.utf8),
                        headers: [(EventHeaders.messageId, "replay-\(letter.id.lowercasedString)")]))
                guard ack.stream == configuration.nats.stream.name else {
                    return .failed("published to stream \(ack.stream), not \(configuration.nats.stream.name)")
                }
                _ = try await redis.execute("XDEL", [.string(stream), .string(entry.id)])
                return .replayed(" event \(letter.eventId?.lowercasedString ?? "-") to \(letter.origin)")
            } catch {
                return .failed("\(error)")
            }
        }
        if all {
            // The letters there now, in pages of 100 from the oldest: not those the workers add
            // meanwhile (a replayed event that fails again would be replayed again, without end).
            let newest = try await redis.execute("XREVRANGE", [.string(stream), "+", "-", "COUNT", 1])
            let end = newest.array?.first.flatMap { StreamEntry(reply: $0) }?.id ?? "0-0"
            var start = "-"
            while true {
                let page =
                    try await redis.execute(
                        "XRANGE", [.string(stream), .string(start), .string(end), "COUNT", 100]
                    ).array ?? []
                let entries = page.compactMap { StreamEntry(reply: $0) }
                for entry in entries { tally.record(entry.id, await replay(entry)) }
                guard let last = entries.last, page.count == 100 else { break }
                start = "(\(last.id)"
            }
        } else {
            for id in entryIDs {
                let reply = try await redis.execute("XRANGE", [.string(stream), .string(id), .string(id)])
                guard let entry = reply.array?.first.flatMap({ StreamEntry(reply: $0) }) else {
                    tally.record(id, .missing)
                    continue
                }
                tally.record(entry.id, await replay(entry))
            }
        }
        if !tally.finish() { throw ExitCode(1) }
    }
}
