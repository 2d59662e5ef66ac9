import Contracts
import FleetAdmin
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import PostgresChangeLog

/// The admin API (JSON, `/api/v1/…`, docs/openapi/admin-api.yaml): bearer tokens with the roles
/// `read` (status, dead letters, audit search) and `admin` (also retry and remove).
struct AdminAPI: Sendable {
    let admin: FleetAdmin
    let refresher: GatewayRefresher
    let auth: GatewayAuth
    let logger: Logger

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    func add(to router: Router<BasicRequestContext>) {
        let api = router.group("/api/v1")
        api.get("status") { request, _ in
            await self.handle(request, route: "status", role: .read) {
                if let snapshot = self.refresher.snapshot { return snapshot }
                return await self.refresher.refresh()
            }
        }
        api.get("dead-letters") { request, _ in
            await self.handle(request, route: "dead-letter-queues", role: .read) {
                QueueList(queues: self.admin.deadLetterQueues.map(\.description))
            }
        }
        api.get("dead-letters/:queue") { request, context in
            await self.handle(request, route: "dead-letters", role: .read) {
                let queue = try Self.queue(context)
                let query = request.uri.queryParameters
                let count = try Self.int(query.get("count"), "count", default: 50, range: 1...1000)
                let after = query.get("after")
                let newest = try Self.bool(query.get("newest"), "newest")
                if newest && after != nil { throw AdminAPIError.badRequest("'after' pages oldest first only") }
                let entries =
                    newest
                    ? try await self.admin.latestDeadLetters(queue, count: count)
                    : try await self.admin.deadLetters(queue, count: count, after: after)
                return DeadLetterPage(queue: queue.description, entries: entries)
            }
        }
        api.get("dead-letters/:queue/stats") { request, context in
            await self.handle(request, route: "dead-letter-stats", role: .read) {
                try await self.admin.deadLetterStats(try Self.queue(context))
            }
        }
        api.get("dead-letters/:queue/entries/:id") { request, context in
            await self.handle(request, route: "dead-letter", role: .read) {
                guard let id = context.parameters.get("id") else { throw AdminAPIError.badRequest("no id") }
                return try await self.admin.deadLetter(try Self.queue(context), id: id)
            }
        }
        api.post("dead-letters/:queue/retry") { request, context in
            await self.handle(request, route: "dead-letters-retry", role: .admin) {
                let queue = try Self.queue(context)
                let body = try await Self.body(request, as: IDList.self)
                return RetryReport(results: try await self.admin.retryDeadLetters(queue, ids: try body.checked()))
            }
        }
        api.post("dead-letters/:queue/retry-all") { request, context in
            await self.handle(request, route: "dead-letters-retry-all", role: .admin) {
                let queue = try Self.queue(context)
                let body = try await Self.body(request, as: FilterBody.self, emptyAllowed: true)
                return RetryReport(
                    results: try await self.admin.retryAllDeadLetters(queue, filter: try body?.filter() ?? .init()))
            }
        }
        api.post("dead-letters/:queue/remove") { request, context in
            await self.handle(request, route: "dead-letters-remove", role: .admin) {
                let queue = try Self.queue(context)
                let body = try await Self.body(request, as: IDList.self)
                return RemoveReport(removed: try await self.admin.removeDeadLetters(queue, ids: try body.checked()))
            }
        }
        api.post("replay") { request, _ in
            await self.handle(request, route: "replay", role: .read) {
                let body = try await Self.body(request, as: ReplayRequest.self)
                // A dry run only reads: the read role does; a real replay needs admin.
                if body.dryRun != true, self.auth.role(request) != .admin {
                    throw AdminAPIError(
                        .forbidden, "permission_denied", "a replay that is not a dry run needs the admin role")
                }
                return try await self.admin.replay(body)
            }
        }
        api.post("debug-event") { request, _ in
            await self.handle(request, route: "debug-event", role: .read) {
                let body = try await Self.body(request, as: DebugEventRequest.self)
                let event: EntityEvent
                switch (body.event, body.id) {
                case (let json?, nil):
                    do {
                        event = try EntityEvent.decode(Array(json.utf8))
                    } catch {
                        throw AdminAPIError.badRequest("'event' is not an event: \(error)")
                    }
                case (nil, let id?):
                    guard let uuid = UUID(uuidString: id) else { throw AdminAPIError.badRequest("'id' is not a UUID") }
                    event = try await self.admin.event(id: uuid)
                default: throw AdminAPIError.badRequest("give 'event' (the event's JSON text) or 'id'")
                }
                return try self.admin.explain(event)
            }
        }
        api.get("checkpoint") { request, _ in
            await self.handle(request, route: "checkpoint", role: .read) { try await self.admin.checkpoint() }
        }
        api.post("checkpoint/reset") { request, _ in
            await self.handle(request, route: "checkpoint-reset", role: .admin) {
                let body = try await Self.body(request, as: CheckpointResetRequest.self)
                return try await self.admin.resetCheckpoint(to: body.toCursor, dryRun: body.confirm != true)
            }
        }
        api.get("audit") { request, _ in
            await self.handle(request, route: "audit", role: .read) {
                let query = try Self.auditQuery { request.uri.queryParameters.get($0) }
                let hits = try await self.admin.searchAudit(query)
                return AuditPage(
                    hits: hits, next: hits.count == query.limit ? hits.last.map(\.cursor.text) : nil)
            }
        }
    }

    // MARK: Plumbing

    /// Authenticates, runs `body`, answers its value as JSON or its error with its status.
    private func handle(
        _ request: Request, route: String, role needed: GatewayAuth.Role,
        _ body: () async throws -> some Encodable & Sendable
    ) async -> Response {
        let response: Response
        do {
            guard let role = auth.role(request) else {
                throw AdminAPIError(.unauthorized, "unauthenticated", "a valid bearer token is required")
            }
            guard role >= needed else {
                throw AdminAPIError(.forbidden, "permission_denied", "this call needs the admin role")
            }
            response = Self.json(try await body(), status: .ok)
        } catch let error as AdminAPIError {
            response = Self.error(error)
        } catch let error as AdminError {
            response = Self.error(AdminAPIError(error))
        } catch {
            logger.warning("admin call failed", metadata: ["route": "\(route)", "error": "\(error)"])
            response = Self.error(AdminAPIError(.serviceUnavailable, "unavailable", "\(error)"))
        }
        Counter(
            label: "fraiseql_gateway_admin_requests_total",
            dimensions: [("route", route), ("status", "\(response.status.code)")]
        ).increment()
        return response
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"internal","message":"unencodable"}"#.utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ error: AdminAPIError) -> Response {
        var response = json(ErrorBody(error: error.code, message: error.message), status: error.status)
        if error.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static func queue(_ context: BasicRequestContext) throws -> DeadLetterQueue {
        let text = context.parameters.get("queue").map { $0.removingPercentEncoding ?? $0 } ?? ""
        guard let queue = DeadLetterQueue(text) else {
            throw AdminAPIError(.notFound, "not_found", "no dead-letter queue '\(text)' (observer or jobs:<queue>)")
        }
        return queue
    }

    static func int(_ text: String?, _ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw AdminAPIError.badRequest("'\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    static func bool(_ text: String?, _ name: String) throws -> Bool {
        switch text {
        case nil, "false": return false
        case "true": return true
        default: throw AdminAPIError.badRequest("'\(name)' must be true or false")
        }
    }

    static func text(_ value: String?, _ name: String) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard value.utf8.count <= 1000, !value.utf8.contains(0) else {
            throw AdminAPIError.badRequest("'\(name)' must be at most 1000 bytes, without NUL")
        }
        return value
    }

    static func time(_ value: String?, _ name: String) throws -> Timestamp? {
        guard let value = try text(value, name) else { return nil }
        guard let time = Timestamp(rfc3339: value) else {
            throw AdminAPIError.badRequest("'\(name)' must be an RFC 3339 time")
        }
        return time
    }

    static func auditQuery(_ get: (String) -> String?) throws -> AuditQuery {
        var audit = AuditQuery(
            text: try text(get("q"), "q"), index: try text(get("index"), "index"),
            entityType: try text(get("entity"), "entity"), entityId: try text(get("entity_id"), "entity_id"),
            operation: try text(get("operation"), "operation"), tenantId: try text(get("tenant"), "tenant"),
            from: try time(get("from"), "from"), to: try time(get("to"), "to"),
            limit: try int(get("limit"), "limit", default: 50, range: 1...500))
        if let before = try text(get("before"), "before") {
            guard let cursor = AuditCursor(text: before) else {
                throw AdminAPIError.badRequest("'before' must be a cursor as 'next' returned it")
            }
            audit.before = cursor
        }
        return audit
    }

    /// The JSON body, at most 1 MiB; nil when empty and `emptyAllowed`.
    static func body<T: Decodable>(_ request: Request, as type: T.Type, emptyAllowed: Bool = false) async throws -> T? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1 << 20)
        } catch {
            throw AdminAPIError(.contentTooLarge, "invalid_argument", "the body is larger than 1 MiB")
        }
        if buffer.readableBytes == 0 && emptyAllowed { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw AdminAPIError.badRequest("the body is not the expected JSON: \(error)")
        }
    }

    static func body<T: Decodable>(_ request: Request, as type: T.Type) async throws -> T {
        guard let value = try await body(request, as: type, emptyAllowed: false) else {
            throw AdminAPIError.badRequest("a JSON body is required")
        }
        return value
    }
}
