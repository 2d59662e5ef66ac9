import Contracts
import Foundation
import NATS
import PostgresChangeLog

extension FleetAdmin {
    /// An event by id: from the change log when `[postgres] url` is set and it has the row, else
    /// from the stream (a scan from `since`, or from the start: the stream has no index by id).
    public func event(id: UUID, since: Timestamp? = nil) async throws -> EntityEvent {
        if postgres != nil,
            let json = try? await withChangeLog({ [transport = configuration.bridge.transportName] in
                try await $0.eventJSON(id: id, source: transport)
            }),
            let event = try? EntityEvent.decode(Array(json.utf8))
        {
            return event
        }
        guard !usesPostgresTransport else {
            throw AdminError(.notFound, "no event \(id.lowercasedString) in the change log")
        }
        let jetStream = try needJetStream()
        let info = try await jetStream.streamInfo(configuration.nats.stream.name)
        guard info.lastSequence > 0 else { throw AdminError(.notFound, "the stream is empty") }
        let wanted = id.lowercasedString
        var start = OrderedStart.all
        if let since { start = .time(nanosecondsSinceEpoch: try Self.nanoseconds(since, "since")) }
        let consumer = try jetStream.orderedSubscribe(
            subject: "\(configuration.nats.subjectPrefix).>", start: start, headers: true)
        defer { consumer.close() }
        while true {
            let messages = try await consumer.next(max: 512, timeout: .seconds(2))
            if messages.isEmpty { break }
            for message in messages {
                if message.header(EventHeaders.messageId) == wanted,
                    let event = try? EntityEvent.decode(message.payload)
                {
                    return event
                }
                guard let metadata = message.metadata, metadata.streamSequence < info.lastSequence,
                    metadata.pending > 0
                else {
                    throw AdminError(.notFound, "no event \(wanted) in stream \(info.name)")
                }
            }
        }
        throw AdminError(.notFound, "no event \(wanted) in stream \(info.name)")
    }
}
