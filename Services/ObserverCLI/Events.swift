import ArgumentParser
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events from the stream (subject and JSON), oldest first, without acknowledging anything.")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Stream sequence to start from (default: the last --count events).")
    var fromSequence: UInt64?

    @Option(name: .long, help: "How many events to print.")
    var count = 10

    func run() async throws {
        let configuration = try options.load()
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let info = try await jetStream.streamInfo(configuration.nats.stream.name)
        guard info.messages > 0 else { return }
        let start =
            fromSequence
            ?? max(info.firstSequence, info.lastSequence >= UInt64(count) ? info.lastSequence - UInt64(count) + 1 : 1)
        let subscription = try jetStream.orderedSubscribe(
            subject: "\(configuration.nats.subjectPrefix).>", start: .sequence(start))
        defer { subscription.unsubscribe() }
        var printed = 0
        while printed < count, let message = try await subscription.next(timeout: .seconds(2)) {
            Swift.print(
                "\(message.metadata?.streamSequence ?? 0) \(message.subject) \(String(decoding: message.payload, as: UTF8.self))"
            )
            printed += 1
        }
    }
}
