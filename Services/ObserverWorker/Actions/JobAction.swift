import Config
import Contracts
import Crypto
import Delivery
import FleetCore
import Foundation
import JobQueue
import Runtime

/// `job`: enqueue a job for job-worker. Keys: `job_kind` (required: `http`, `email`, …), `queue`
/// (default: the first of `[jobs] queues`), `payload` (JSON template; default `{"event": <the event>}`),
/// `max_attempts` (default `[jobs] max_attempts`).
///
/// The job id is derived from the event id and the action, and the job carries the uniqueness key
/// `<event id>.<observer>#<index>`: a redelivered event never enqueues a second job while the first
/// is pending.
struct JobAction: ObserverAction {
    let kind = "job"
    let key: String
    let endpoint = "redis-jobs"
    let timeout: Duration
    let queue: JobQueue
    let queueName: String
    let jobKind: String
    let payload: EventTemplate?
    let maxAttempts: Int
    let backoff: BackoffPolicy

    init(_ action: ObserverDefinition.Action, key: String, resources: ActionResources) throws(ConfigError) {
        let settings = try ActionSettings(action, allowed: ["job_kind", "queue", "payload", "max_attempts", "timeout"])
        guard let queue = resources.jobQueue else {
            throw settings.scope.error(
                "kind", "a 'job' action needs Redis: with the 'postgres' transport, set [redis] url")
        }
        self.key = key
        self.queue = queue
        guard let jobKind = try settings.scope.optionalString("job_kind") else {
            throw settings.scope.error("job_kind", "is required (http, email, …)")
        }
        self.jobKind = jobKind
        queueName = try settings.scope.string("queue", default: resources.jobs.queues.first ?? "default")
        payload = try settings.template("payload", escaping: .json)
        maxAttempts = try settings.scope.int("max_attempts", default: resources.jobs.maxAttempts, range: 1...1000)
        backoff = resources.jobs.backoff
        timeout = try settings.timeout(default: .seconds(5))
    }

    /// A UUID made from the first 16 bytes of SHA-256(event id, action key), version 8.
    static func jobID(event: UUID, key: String) -> UUID {
        UUID(digest: SHA256.hash(data: Array("\(event.lowercasedString).\(key)".utf8)), version: 8)
    }

    func preview(_ input: ActionInput) -> String {
        let body =
            payload?.render(input.context)
            ?? #"{"event": "# + String(decoding: FastJSON.encode(input.event), as: UTF8.self) + "}"
        return
            "enqueue job '\(jobKind)' on queue \(queueName) (id \(Self.jobID(event: input.event.id, key: key).lowercasedString))\n"
            + body
    }

    func perform(_ input: ActionInput) async throws {
        let body: JSONValue
        if let payload {
            let text = payload.render(input.context)
            do {
                body = try FastJSON.parse(text)
            } catch {
                throw DeliveryError(
                    .permanent, "job payload template did not render JSON (\(error)): \(text.prefix(200))")
            }
        } else {
            body = .object(["event": try FastJSON.parse(String(decoding: FastJSON.encode(input.event), as: UTF8.self))])
        }
        let job = Job(
            id: Self.jobID(event: input.event.id, key: key), queue: queueName, kind: jobKind, payload: body,
            maxAttempts: maxAttempts, backoff: backoff, sourceEventId: input.event.id,
            uniqueKey: "\(input.event.id.lowercasedString).\(key)")
        do {
            try await queue.enqueue(job)  // `.duplicate` means an earlier delivery enqueued it: done too
        } catch {
            throw DeliveryError(.retryable, "enqueue to jobs:\(queueName): \(error)")
        }
    }
}
