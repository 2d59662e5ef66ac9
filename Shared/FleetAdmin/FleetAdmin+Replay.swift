import Contracts
import Crypto
import Foundation
import NATS
import ObserverWorker

/// Replay: events taken again from JetStream and given to the observer consumer under a fresh
/// dedup scope. Each selected event is published to `<prefix>._replay.<entity>.<operation>` (the
/// observer consumer takes `<prefix>.>`; readers of one entity's subjects do not see it) with an
/// id derived from the replay id and its own: the workers' dedup and done marks, webhook-ids and
/// job ids are new for the replay, and the same replay run twice publishes each event once.
extension FleetAdmin {
    /// The subject token under the prefix that replayed copies go to.
    public static let replayToken = "_replay"

    /// The replayed copy's id: a version-8 UUID from SHA-256 of the replay id and the event id.
    public static func replayedID(replay: String, event: UUID) -> UUID {
        UUID(digest: SHA256.hash(data: Array("replay:\(replay):\(event.lowercasedString)".utf8)), version: 8)
    }

    public func replay(_ request: ReplayRequest) async throws -> ReplayReport {
        guard !usesPostgresTransport else {
            throw AdminError(
                .invalidArgument,
                "replay reads JetStream: with the postgres transport, put change-log rows back in change_log_pending")
        }
        let limit = request.limit ?? 1000
        guard (1...ReplayRequest.maximumLimit).contains(limit) else {
            throw AdminError(.invalidArgument, "limit must be 1...\(ReplayRequest.maximumLimit)")
        }
        var operation: Contracts.Operation?
        if let name = request.operation {
            guard let parsed = Contracts.Operation(rawValue: name) else {
                throw AdminError(.invalidArgument, "operation must be insert, update or delete")
            }
            operation = parsed
        }
        let namer: SubjectNamer
        let subject: String
        do {
            namer = try SubjectNamer(prefix: configuration.nats.subjectPrefix)
            subject =
                if let entity = request.entity {
                    try namer.filter(entityType: entity, operation: operation)
                } else {
                    // Three tokens: not the replayed copies (`<prefix>._replay.<entity>.<operation>`).
                    "\(namer.prefix).*.\(operation?.rawValue ?? "*")"
                }
        } catch {
            throw AdminError(.invalidArgument, "\(error)")
        }
        if let replayId = request.replayId, replayId.isEmpty || replayId.utf8.count > 100 {
            throw AdminError(.invalidArgument, "replay_id must be 1...100 bytes")
        }
        let replayID = request.replayId ?? UUID().uuidString.lowercased()
        let dryRun = request.dryRun ?? false
        let engine = try ruleEngine()
        let jetStream = try needJetStream()
        let stream = configuration.nats.stream.name
        // Where the read ends: the stream's last sequence now, or the bound given.
        let info = try await jetStream.streamInfo(stream)
        let last = min(info.lastSequence, request.toSequence ?? UInt64.max)
        var report = ReplayReport(
            replayId: replayID, dryRun: dryRun, scanned: 0, events: [], published: 0, truncated: false)
        guard last > 0, last >= (request.fromSequence ?? 0) else { return report }
        let start: OrderedStart =
            if let from = request.fromSequence {
                .sequence(max(1, from))
            } else if let from = request.fromTime {
                .time(nanosecondsSinceEpoch: try Self.nanoseconds(from, "from_time"))
            } else {
                .all
            }
        let consumer = try jetStream.orderedSubscribe(subject: subject, start: start, headers: false)
        defer { consumer.close() }
        var done = false
        var quiet = 0
        while !done {
            let messages = try await consumer.next(max: 256, timeout: .milliseconds(500))
            if messages.isEmpty {
                // Nothing more for this filter: the range is read (nothing matched past the last).
                quiet += 1
                let progress = try await consumer.progress()
                if progress.pending == 0 && consumer.buffered.messages == 0 && quiet >= 2 { break }
                continue
            }
            quiet = 0
            for message in messages {
                guard let metadata = message.metadata else { continue }
                if metadata.streamSequence > last {
                    done = true
                    break
                }
                if let to = request.toTime, metadata.timestamp / 1000 > to.microsecondsSinceEpoch {
                    done = true
                    break
                }
                report.scanned += 1
                guard let event = try? EntityEvent.decode(message.payload) else { continue }
                if let from = request.fromCursor, event.cursor < from { continue }
                if let to = request.toCursor, event.cursor > to { continue }
                if report.events.count == limit {
                    report.truncated = true
                    done = true
                    break
                }
                let explanations = engine.explain(event).filter(\.matched)
                let copy = Self.replayedID(replay: replayID, event: event.id)
                report.events.append(
                    ReplayReport.Item(
                        eventId: event.id.lowercasedString, replayedId: copy.lowercasedString,
                        streamSequence: metadata.streamSequence, entity: event.entityType,
                        operation: event.operation.rawValue, cursor: event.cursor,
                        observers: explanations.map(\.observer), actions: explanations.flatMap { $0.actions.map(\.key) }
                    ))
                if !dryRun {
                    try await publishReplayed(event, as: copy, replay: replayID, original: metadata.streamSequence)
                    report.published += 1
                }
                if metadata.streamSequence >= last || metadata.pending == 0 {
                    done = true
                    break
                }
            }
        }
        return report
    }

    /// A time as JetStream's start time (nanoseconds since 1970): refused outside 1970...2262.
    static func nanoseconds(_ time: Timestamp, _ name: String) throws(AdminError) -> Int64 {
        let (value, overflow) = time.microsecondsSinceEpoch.multipliedReportingOverflow(by: 1000)
        guard !overflow, value >= 0 else { throw AdminError(.invalidArgument, "\(name) must be between 1970 and 2262") }
        return value
    }

    private func publishReplayed(_ event: EntityEvent, as copy: UUID, replay: String, original: UInt64) async throws {
        var replayed = event
        replayed.id = copy
        let subject =
            "\(configuration.nats.subjectPrefix).\(Self.replayToken).\(try SubjectNamer.entityToken(event.entityType))."
            + event.operation.rawValue
        var headers = EventHeaders.headers(for: replayed)
        headers.append(("Fraiseql-Replay", replay))
        headers.append(("Fraiseql-Replay-Of", event.id.lowercasedString))
        headers.append(("Fraiseql-Replay-Sequence", "\(original)"))
        _ = try await needJetStream().publish(
            OutgoingMessage(subject: subject, payload: FastJSON.encode(replayed), headers: headers))
    }
}
