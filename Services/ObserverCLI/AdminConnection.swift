import ArgumentParser
import Config
import Contracts
import FleetAdmin
import FleetCore
import Foundation
import Logging
import NATS
import PostgresChangeLog
import Redis

/// An admin command's source of answers: ``FleetAdmin`` over the configured servers, or a
/// gateway's admin API. Both give the same values, so printing has one path.
struct AdminConnection: Sendable {
    private let admin: FleetAdmin?
    private let gateway: GatewayClient?
    private let close: @Sendable () -> Void

    /// Connects as `options` say; a configuration error exits 2, an unreachable server 3.
    static func open(_ options: AdminOptions) async throws -> AdminConnection {
        if let url = options.gateway {
            let token = options.token ?? ProcessInfo.processInfo.environment["FRAISEQL_GATEWAY_TOKEN"]
            return AdminConnection(admin: nil, gateway: GatewayClient(base: url, token: token), close: {})
        }
        let configuration = try options.config.load()
        let logger = ConfigOption.logger
        var redis: RedisClient?
        var nats: NATSConnection?
        // The postgres transport's fleet may have no Redis at all: read it only when it is named.
        if configuration.observer.transport != "postgres" || configuration.redis.isConfigured {
            redis = try FleetClients.redis(configuration, logger: logger)
        }
        if configuration.observer.transport != "postgres" {
            var client = configuration.nats.clientConfiguration(name: "fraiseql-observer")
            client.maxReconnects = 0
            do {
                nats = try await NATSConnection.connect(client)
            } catch {
                FileHandle.standardError.write(Data("NATS: \(error)\n".utf8))
            }
        }
        let admin: FleetAdmin
        do {
            admin = try FleetAdmin(
                configuration: configuration, jetStream: try nats?.jetStream(), redis: redis, logger: logger)
        } catch let error as ConfigError {
            throw ConfigOption.exit(error)
        }
        let clients = (redis, nats)
        return AdminConnection(
            admin: admin, gateway: nil,
            close: {
                clients.0?.close()
                clients.1?.close()
            })
    }

    func shutdown() { close() }

    /// Runs `body`, then closes; maps failures to the documented exit codes.
    static func run(_ options: AdminOptions, _ body: (AdminConnection) async throws -> Int32) async throws {
        let connection = try await open(options)
        let code: Int32
        do {
            code = try await body(connection)
        } catch let failure as GatewayClient.Failure {
            connection.shutdown()
            FileHandle.standardError.write(Data("\(failure.message)\n".utf8))
            throw ExitCode(failure.exitCode)
        } catch let error as AdminError {
            connection.shutdown()
            FileHandle.standardError.write(Data("\(error.message)\n".utf8))
            let code: Int32 =
                switch error.code {
                case .invalidArgument: CLIExit.usage
                case .notFound: CLIExit.notFound
                case .unavailable: CLIExit.unavailable
                }
            throw ExitCode(code)
        } catch let exit as ExitCode {
            connection.shutdown()
            throw exit
        } catch {
            connection.shutdown()
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(CLIExit.unavailable)
        }
        connection.shutdown()
        if code != CLIExit.ok { throw ExitCode(code) }
    }

    // MARK: Operations

    func status() async throws -> FleetStatus {
        if let gateway { return try await gateway.get("/api/v1/status", as: StatusReply.self).status }
        return await admin!.status()
    }

    func deadLetters(_ queue: DeadLetterQueue, count: Int, after: String?, newest: Bool) async throws
        -> [DeadLetterEntry]
    {
        if let gateway {
            var path = "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))?count=\(count)"
            if let after { path += "&after=\(GatewayClient.segment(after))" }
            if newest { path += "&newest=true" }
            return try await gateway.get(path, as: Page.self).entries
        }
        return newest
            ? try await admin!.latestDeadLetters(queue, count: count)
            : try await admin!.deadLetters(queue, count: count, after: after)
    }

    func deadLetter(_ queue: DeadLetterQueue, id: String) async throws -> DeadLetterEntry {
        if let gateway {
            return try await gateway.get(
                "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))/entries/\(GatewayClient.segment(id))",
                as: DeadLetterEntry.self)
        }
        return try await admin!.deadLetter(queue, id: id)
    }

    func stats(_ queue: DeadLetterQueue) async throws -> DeadLetterStats {
        if let gateway {
            return try await gateway.get(
                "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))/stats", as: DeadLetterStats.self)
        }
        return try await admin!.deadLetterStats(queue)
    }

    func retry(_ queue: DeadLetterQueue, ids: [String]) async throws -> [RetryResult] {
        if let gateway {
            return try await gateway.post(
                "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))/retry", body: ["ids": ids],
                as: Results.self
            ).results
        }
        return try await admin!.retryDeadLetters(queue, ids: ids)
    }

    func retryAll(_ queue: DeadLetterQueue, filter: DeadLetterFilter) async throws -> [RetryResult] {
        if let gateway {
            var body: [String: String] = [:]
            body["reason"] = filter.reason?.rawValue
            body["entity"] = filter.entity
            body["handler"] = filter.handler
            return try await gateway.post(
                "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))/retry-all", body: body,
                as: Results.self
            ).results
        }
        return try await admin!.retryAllDeadLetters(queue, filter: filter)
    }

    func remove(_ queue: DeadLetterQueue, ids: [String]) async throws -> Int {
        if let gateway {
            return try await gateway.post(
                "/api/v1/dead-letters/\(GatewayClient.segment(queue.description))/remove", body: ["ids": ids],
                as: Removed.self
            ).removed
        }
        return try await admin!.removeDeadLetters(queue, ids: ids)
    }

    func audit(_ query: AuditQuery) async throws -> [AuditHit] {
        if let gateway {
            var items: [URLQueryItem] = [URLQueryItem(name: "limit", value: "\(query.limit)")]
            func add(_ name: String, _ value: String?) {
                if let value { items.append(URLQueryItem(name: name, value: value)) }
            }
            add("q", query.text)
            add("index", query.index)
            add("entity", query.entityType)
            add("entity_id", query.entityId)
            add("operation", query.operation)
            add("tenant", query.tenantId)
            add("from", query.from?.rfc3339)
            add("to", query.to?.rfc3339)
            add("before", query.before?.text)
            var components = URLComponents()
            components.queryItems = items
            // `+` is a space in a query string: encode it.
            let encoded = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            return try await gateway.get("/api/v1/audit?" + encoded, as: AuditReply.self).hits
        }
        return try await admin!.searchAudit(query)
    }

    func replay(_ request: ReplayRequest) async throws -> ReplayReport {
        if let gateway { return try await gateway.post("/api/v1/replay", body: request, as: ReplayReport.self) }
        return try await admin!.replay(request)
    }

    func explain(json: String?, id: String?) async throws -> EventExplanation {
        if let gateway {
            var body: [String: String] = [:]
            body["event"] = json
            body["id"] = id
            return try await gateway.post("/api/v1/debug-event", body: body, as: EventExplanation.self)
        }
        let event: EntityEvent
        if let json {
            do {
                event = try EntityEvent.decode(Array(json.utf8))
            } catch {
                throw AdminError(.invalidArgument, "not an event: \(error)")
            }
        } else {
            event = try await admin!.event(id: UUID(uuidString: id ?? "") ?? UUID())
        }
        return try admin!.explain(event)
    }

    func checkpoint() async throws -> CheckpointView {
        if let gateway { return try await gateway.get("/api/v1/checkpoint", as: CheckpointView.self) }
        return try await admin!.checkpoint()
    }

    func resetCheckpoint(to cursor: Int64, confirm: Bool) async throws -> CheckpointReset {
        if let gateway {
            struct Body: Encodable {
                var toCursor: Int64
                var confirm: Bool

                enum CodingKeys: String, CodingKey {
                    case confirm
                    case toCursor = "to_cursor"
                }
            }
            return try await gateway.post(
                "/api/v1/checkpoint/reset", body: Body(toCursor: cursor, confirm: confirm), as: CheckpointReset.self)
        }
        return try await admin!.resetCheckpoint(to: cursor, dryRun: !confirm)
    }

    private struct StatusReply: Decodable { var status: FleetStatus }
    private struct Page: Decodable { var entries: [DeadLetterEntry] }
    private struct Results: Decodable { var results: [RetryResult] }
    private struct Removed: Decodable { var removed: Int }
    private struct AuditReply: Decodable { var hits: [AuditHit] }
}
