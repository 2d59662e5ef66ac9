import ArrowIPC
import Contracts
import FleetCore
import FlightProtocol
import Foundation
import GRPCCore
import Logging
import NATS
import SwiftProtobuf

/// The Arrow Flight service: events from JetStream, authenticated by token, limited per token.
/// `Handshake`, `ListFlights`, `GetFlightInfo`, `GetSchema`, `DoGet`, `ListActions` and
/// `DoAction` (`health-check`, `list-views`); the other calls answer UNIMPLEMENTED.
struct FlightService: Arrow_Flight_Protocol_FlightService.ServiceProtocol {

    let configuration: FlightConfiguration
    let entities: [String]
    let reader: EventReader
    let views: ViewReader
    let access: FlightAccess
    let limiter: FlightLimiter
    let metrics: FlightMetrics
    let isNATSConnected: @Sendable () -> Bool
    let logger: Logger

    // MARK: Calls

    /// Authenticates, applies the call limit, runs `body`, and counts the outcome.
    private func call<T>(
        _ method: String, _ metadata: Metadata, _ body: (FlightPrincipal) async throws -> T
    ) async throws -> T {
        do {
            let principal = try await access.authenticate(metadata)
            try limiter.admitCall(principal.name)
            let result = try await body(principal)
            metrics.call(method, status: "ok")
            return result
        } catch let error as RPCError {
            metrics.call(method, status: "\(error.code)")
            throw error
        } catch let error as FlightTicket.Invalid {
            metrics.call(method, status: "invalidArgument")
            throw RPCError(code: .invalidArgument, message: error.description)
        } catch {
            metrics.call(method, status: "internalError")
            logger.error("call failed", metadata: ["flight.method": "\(method)", "error": "\(error)"])
            throw RPCError(code: .internalError, message: "\(method) failed: \(error)")
        }
    }

    func handshake(
        request: StreamingServerRequest<Arrow_Flight_Protocol_HandshakeRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_HandshakeResponse> {
        var payload: [UInt8] = []
        for try await message in request.messages {
            payload = Array(message.payload)
            break
        }
        guard let token = access.handshakeToken(metadata: request.metadata, payload: payload),
            let principal = await access.principal(token: token)
        else {
            metrics.authenticationFailed("handshake")
            metrics.call("Handshake", status: "unauthenticated")
            throw RPCError(code: .unauthenticated, message: "invalid credentials")
        }
        try limiter.admitCall(principal.name)
        metrics.call("Handshake", status: "ok")
        return StreamingServerResponse(metadata: ["authorization": "Bearer \(token)"]) { writer in
            try await writer.write(.with { $0.payload = Data(token.utf8) })
            return [:]
        }
    }

    func listFlights(
        request: ServerRequest<Arrow_Flight_Protocol_Criteria>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_FlightInfo> {
        let infos = try await call("ListFlights", request.metadata) { principal in
            var infos: [Arrow_Flight_Protocol_FlightInfo] = []
            if principal.has("events:read") {
                if principal.entities == nil { infos.append(try await info(path: ["events"], principal)) }
                for entity in entities where principal.entities?.contains(entity) ?? true {
                    infos.append(try await info(path: ["events", entity], principal))
                }
            }
            if principal.has("views:read") {
                for view in try await views.list() {
                    infos.append(try await info(path: ["views", view.name], principal))
                }
            }
            return infos
        }
        return StreamingServerResponse { writer in
            try await writer.write(contentsOf: infos)
            return [:]
        }
    }

    func getFlightInfo(
        request: ServerRequest<Arrow_Flight_Protocol_FlightDescriptor>, context: ServerContext
    ) async throws -> ServerResponse<Arrow_Flight_Protocol_FlightInfo> {
        let descriptor = request.message
        let found = try await call("GetFlightInfo", request.metadata) { principal in
            switch descriptor.type {
            case .path: return try await info(path: descriptor.path, principal)
            case .cmd:
                let ticket = try FlightTicket.parse(Array(descriptor.cmd), maxBatchRows: configuration.maxBatchRows)
                return try await info(ticket, bytes: Array(descriptor.cmd), descriptor: descriptor, principal)
            default: throw RPCError(code: .invalidArgument, message: "a descriptor is a PATH or a CMD")
            }
        }
        return ServerResponse(message: found)
    }

    func pollFlightInfo(
        request: ServerRequest<Arrow_Flight_Protocol_FlightDescriptor>, context: ServerContext
    ) async throws -> ServerResponse<Arrow_Flight_Protocol_PollInfo> {
        metrics.call("PollFlightInfo", status: "unimplemented")
        throw RPCError(
            code: .unimplemented, message: "PollFlightInfo: every flight is ready at once; use GetFlightInfo")
    }

    func getSchema(
        request: ServerRequest<Arrow_Flight_Protocol_FlightDescriptor>, context: ServerContext
    ) async throws -> ServerResponse<Arrow_Flight_Protocol_SchemaResult> {
        let descriptor = request.message
        let schema = try await call("GetSchema", request.metadata) { principal in
            let found: Arrow_Flight_Protocol_FlightInfo
            switch descriptor.type {
            case .path: found = try await info(path: descriptor.path, principal)
            case .cmd:
                let ticket = try FlightTicket.parse(Array(descriptor.cmd), maxBatchRows: configuration.maxBatchRows)
                found = try await info(ticket, bytes: Array(descriptor.cmd), descriptor: descriptor, principal)
            default: throw RPCError(code: .invalidArgument, message: "a descriptor is a PATH or a CMD")
            }
            return found.schema
        }
        return ServerResponse(message: .with { $0.schema = schema })
    }

    func doGet(
        request: ServerRequest<Arrow_Flight_Protocol_Ticket>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_FlightData> {
        let (principal, ticket) = try await call("DoGet", request.metadata) { principal in
            let ticket = try FlightTicket.parse(Array(request.message.ticket), maxBatchRows: configuration.maxBatchRows)
            return (principal, try authorize(ticket, principal))
        }
        try limiter.openStream(principal.name)
        let compression = compression(ticket)
        let encoder = ArrowStreamEncoder(schema: EventBatchBuilder.schema, compression: compression)
        let batchRows = ticket.batchRows ?? configuration.batchRows
        return StreamingServerResponse { writer in
            metrics.streamOpened()
            defer {
                metrics.streamClosed()
                limiter.closeStream(principal.name)
            }
            // gRPC reports a client's cancel through the context, not by cancelling this task:
            // the read runs beside a watcher that ends it at once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let send: (ArrowMessage) async throws -> Void = { message in
                        metrics.bytesSent(message.metadata.count + message.body.count)
                        try await writer.write(
                            .with {
                                $0.dataHeader = Data(message.metadata)
                                $0.dataBody = Data(message.body)
                            })
                    }
                    let rows: Int
                    switch ticket.kind {
                    case .events(let query):
                        rows = try await reader.read(query, batchRows: batchRows, encoder: encoder, send: send)
                    case .view(let query):
                        rows = try await views.read(
                            query, batchRows: batchRows, compression: compression, send: send)
                    }
                    logger.debug(
                        "stream done", metadata: ["flight.token": "\(principal.name)", "flight.rows": "\(rows)"])
                }
                group.addTask {
                    try await context.cancellation.cancelled
                    throw RPCError(code: .cancelled, message: "the client cancelled the stream")
                }
                try await group.next()
                group.cancelAll()
            }
            return [:]
        }
    }

    func doPut(
        request: StreamingServerRequest<Arrow_Flight_Protocol_FlightData>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_PutResult> {
        metrics.call("DoPut", status: "unimplemented")
        throw RPCError(code: .unimplemented, message: "DoPut: flight-server is read-only")
    }

    func doExchange(
        request: StreamingServerRequest<Arrow_Flight_Protocol_FlightData>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_FlightData> {
        metrics.call("DoExchange", status: "unimplemented")
        throw RPCError(code: .unimplemented, message: "DoExchange: flight-server is read-only")
    }

    static let actions: [(String, String)] = [
        ("health-check", "The server's state and its connections, as JSON."),
        ("list-views", "The analytic views this token may read, as JSON."),
    ]

    func doAction(
        request: ServerRequest<Arrow_Flight_Protocol_Action>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_Result> {
        let action = request.message
        let body = try await call("DoAction", request.metadata) { principal -> [UInt8] in
            switch action.type {
            case "health-check":
                let nats = isNATSConnected()
                return Array(#"{"status":"\#(nats ? "ok" : "degraded")","nats":\#(nats)}"#.utf8)
            case "list-views":
                try access.require("views:read", principal)
                var out: [UInt8] = []
                FastJSON.appendObject(
                    [
                        "views": .array(
                            try await views.list().map { view in
                                .object([
                                    "name": .string(view.name),
                                    "columns": .array(
                                        view.schema.fields.map { field in
                                            .object(["name": .string(field.name), "type": .string("\(field.type)")])
                                        }),
                                ])
                            })
                    ], to: &out)
                return out
            default:
                throw RPCError(
                    code: .invalidArgument,
                    message: "unknown action '\(action.type)': \(Self.actions.map(\.0).joined(separator: ", "))")
            }
        }
        return StreamingServerResponse { writer in
            try await writer.write(.with { $0.body = Data(body) })
            return [:]
        }
    }

    func listActions(
        request: ServerRequest<Arrow_Flight_Protocol_Empty>, context: ServerContext
    ) async throws -> StreamingServerResponse<Arrow_Flight_Protocol_ActionType> {
        try await call("ListActions", request.metadata) { _ in () }
        return StreamingServerResponse { writer in
            for (type, description) in Self.actions {
                try await writer.write(
                    .with {
                        $0.type = type
                        $0.description_p = description
                    })
            }
            return [:]
        }
    }

    // MARK: Helpers

    private func compression(_ ticket: FlightTicket) -> ArrowCompression? {
        switch ticket.compression ?? configuration.compression {
        case "lz4": .lz4Frame
        case "zstd": .zstd(level: 1)
        default: nil
        }
    }

    /// Checks the principal's role and entity allow-list; narrows an unrestricted query to the
    /// entities the token may read.
    private func authorize(_ ticket: FlightTicket, _ principal: FlightPrincipal) throws(RPCError) -> FlightTicket {
        var ticket = ticket
        switch ticket.kind {
        case .events(var query):
            try access.require("events:read", principal)
            if let allowed = principal.entities {
                if let asked = query.entities {
                    if let refused = asked.first(where: { !allowed.contains($0) }) {
                        throw RPCError(
                            code: .permissionDenied,
                            message: "token '\(principal.name)' may not read entity '\(refused)'")
                    }
                } else {
                    query.entities = allowed.sorted()
                }
            }
            ticket.kind = .events(query)
        case .view:
            try access.require("views:read", principal)
        }
        return ticket
    }

    private func info(path: [String], _ principal: FlightPrincipal) async throws -> Arrow_Flight_Protocol_FlightInfo {
        let json: String
        switch path.count {
        case 1 where path[0] == "events": json = #"{"kind":"events"}"#
        case 2 where path[0] == "events": json = #"{"kind":"events","entities":[\#(FastJSON.quoted(path[1]))]}"#
        case 2 where path[0] == "views": json = #"{"kind":"view","name":\#(FastJSON.quoted(path[1]))}"#
        default:
            throw RPCError(
                code: .notFound,
                message: "no flight at path \(path): use [\"events\"], [\"events\", entity] or [\"views\", name]")
        }
        let bytes = Array(json.utf8)
        let ticket = try FlightTicket.parse(bytes, maxBatchRows: configuration.maxBatchRows)
        return try await info(
            ticket, bytes: bytes,
            descriptor: .with {
                $0.type = .path
                $0.path = path
            }, principal)
    }

    private func info(
        _ ticket: FlightTicket, bytes: [UInt8], descriptor: Arrow_Flight_Protocol_FlightDescriptor,
        _ principal: FlightPrincipal
    ) async throws -> Arrow_Flight_Protocol_FlightInfo {
        let ticket = try authorize(ticket, principal)
        let arrowSchema: ArrowSchema
        switch ticket.kind {
        case .events: arrowSchema = EventBatchBuilder.schema
        case .view(let query): arrowSchema = try await views.view(query.name).schema
        }
        let schema = ArrowStreamEncoder(schema: arrowSchema).schemaMessage().framed()
        return .with {
            $0.schema = Data(schema)
            $0.flightDescriptor = descriptor
            $0.endpoint = [.with { $0.ticket = .with { $0.ticket = Data(bytes) } }]
            $0.totalRecords = -1
            $0.totalBytes = -1
            $0.ordered = true
        }
    }
}
