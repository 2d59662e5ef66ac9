import ArrowIPC
import Contracts
import Foundation
import Logging
import NATS

/// Streams the events of a query from JetStream as Arrow messages, through an ordered consumer
/// that exists for this one read. Memory stays constant: one batch is built at a time, the
/// consumer holds a bounded buffer, and `send` (the gRPC writer) suspends while the client is
/// slow, which stops the reading. Cancelling the task (the client went away) ends the read and
/// deletes the consumer.
struct EventReader: Sendable {
    let jetStream: JetStream
    let stream: String
    let namer: SubjectNamer
    let flushInterval: Duration
    let metrics: FlightMetrics
    let logger: Logger

    /// Sends the schema, then dictionary and record batches of `batchRows` events; returns the
    /// number of events sent.
    func read(
        _ query: EventQuery, batchRows: Int, encoder: ArrowStreamEncoder,
        send: (ArrowMessage) async throws -> Void
    ) async throws -> Int {
        try await send(encoder.schemaMessage())
        // Where a bounded read ends: the stream's last sequence now, or the ticket's bound.
        var lastSequence = UInt64.max
        switch query.end {
        case .now: lastSequence = try await jetStream.streamInfo(stream).lastSequence
        case .sequence(let sequence): lastSequence = sequence
        case .tail, .time: break
        }
        if lastSequence == 0 { return 0 }
        if case .sequence(let first) = query.start, first > lastSequence { return 0 }
        let consumer = try jetStream.orderedSubscribe(
            subject: try query.subject(namer), start: query.orderedStart, headers: false, subjects: false)
        defer { consumer.close() }
        var builder = EventBatchBuilder()
        var sent = 0
        // The consumer and consumer sequence of the last message taken.
        var lastTaken: (consumer: String, sequence: UInt64) = ("", 0)
        let limit = query.limit ?? Int.max
        var done = false

        func flush() async throws {
            guard builder.count > 0 else { return }
            let rows = builder.count
            for message in try builder.finish(encoder) { try await send(message) }
            metrics.rowsSent(rows)
        }

        while !done && !Task.isCancelled {
            let wait: Duration = query.end == .tail && builder.count > 0 ? flushInterval : .milliseconds(250)
            let messages = try await consumer.next(max: min(batchRows, 1024), timeout: wait)
            if messages.isEmpty {
                if query.end == .tail {
                    try await flush()
                    continue
                }
                // Nothing came for a while: finished once the server has nothing more for this
                // consumer and everything it sent was taken.
                let progress = try await consumer.progress()
                let allTaken =
                    progress.lastDelivered == 0
                    || (progress.consumer == lastTaken.consumer && progress.lastDelivered <= lastTaken.sequence)
                if progress.pending == 0 && consumer.buffered.messages == 0 && allTaken { break }
                continue
            }
            for message in messages {
                guard let metadata = message.metadata else { continue }
                let sequence = metadata.streamSequence
                lastTaken = (metadata.consumer, metadata.consumerSequence)
                if sequence > lastSequence {
                    done = true
                    break
                }
                if case .time(let end) = query.end, metadata.timestamp / 1000 > end.microsecondsSinceEpoch {
                    done = true
                    break
                }
                // The usual event: its text copied on from the payload. Anything else through the
                // decoder, which reads every valid event and names what is wrong with the others.
                var appended = message.payload.withUnsafeBufferPointer { payload -> Bool? in
                    guard let layout = EventLayout(payload) else { return nil }
                    guard query.matches(layout, payload: payload) else { return false }
                    builder.append(layout, payload: payload, sequence: sequence)
                    return true
                }
                if appended == nil {
                    appended = false
                    do {
                        let (event, rows) = try EntityEvent.decodeEnvelope(message.payload)
                        if query.matches(event) {
                            builder.append(event, rows: rows, payload: message.payload, sequence: sequence)
                            appended = true
                        }
                    } catch {
                        metrics.skipped()
                        logger.warning(
                            "a stream message is not an event: skipped",
                            metadata: ["stream.sequence": "\(sequence)", "error": "\(error.description)"])
                    }
                }
                if appended == true {
                    sent += 1
                    if builder.count >= batchRows { try await flush() }
                    if sent >= limit {
                        done = true
                        break
                    }
                }
                if sequence == lastSequence || (query.end == .now && metadata.pending == 0) {
                    done = true
                    break
                }
            }
        }
        try await flush()
        return sent
    }
}
