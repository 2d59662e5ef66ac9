/// Redis: the fleet's Redis client, over hiredis's reply parser and SwiftNIO.
///
/// This module is the only importer of `CHiredis`. Commands are encoded as RESP in Swift and
/// written to a SwiftNIO channel; received bytes are fed to hiredis's reader (the parser redis-py
/// also uses), so nothing blocks Swift's cooperative thread pool and many tasks pipeline over one
/// connection. The connection is opened lazily and re-opened after an error; every command has a
/// timeout. Blocking commands (`XREADGROUP … BLOCK`) hold the connection they run on: give them a
/// client of their own.
import Config
import Contracts
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

public struct RedisClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var password: String?
    public var username: String?
    public var database: Int
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    /// TLS (`rediss://`); nil for plain TCP.
    public var tls: TLSFiles?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, username: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
        tls: TLSFiles? = nil
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.tls = tls
    }

    /// Parses `redis://[user:password@]host[:port][/db]`; `rediss://` is the same over TLS.
    public init(url: String) throws(RedisError) {
        guard let components = URLComponents(string: url), ["redis", "rediss"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else { throw RedisError(code: .connection, message: "not a redis:// URL: \(Self.redacted(url))") }
        self.init(host: host, port: components.port ?? 6379)
        if components.scheme == "rediss" { tls = TLSFiles() }
        if let password = components.password, !password.isEmpty {
            self.password = password.removingPercentEncoding ?? password
            if let user = components.user, !user.isEmpty { self.username = user }
        } else if let user = components.user, !user.isEmpty {
            self.password = user
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path) else {
                throw RedisError(code: .connection, message: "database in URL is not a number: \(path)")
            }
            self.database = database
        }
    }

    /// The URL with any password replaced by `***`, for logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "redis://***"
    }
}

extension Duration {
    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
}

/// A Redis connection shared by many tasks, pipelined. It is a `Service`: run it in a
/// `ServiceGroup` to close it on graceful shutdown.
public final class RedisClient: Service, Sendable {
    private enum State {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        case closed
    }

    public let configuration: RedisClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State.idle)
    private let scriptHashes = Mutex([String: String]())

    public init(
        configuration: RedisClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "fraiseql.redis")
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
    }

    deinit {
        if case .connected(let connection) = state.withLock({ $0 }) { connection.channel.close(promise: nil) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Closes the connection; later commands fail with `.closed`.
    public func close() {
        let previous = state.withLock { state -> State in
            let previous = state
            state = .closed
            return previous
        }
        switch previous {
        case .connected(let connection): connection.channel.close(promise: nil)
        case .connecting(let future): future.whenSuccess { $0.channel.close(promise: nil) }
        case .idle, .closed: break
        }
    }

    /// Sends one command and returns its reply. An error reply is returned as `.error`, not thrown.
    public func send(_ command: RedisCommand, timeout: Duration? = nil) async throws -> RESPValue {
        try await pipeline([command], timeout: timeout)[0]
    }

    /// Sends commands in one write and returns their replies in order.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let connection = try await connection()
        return try await connection.send(commands, timeout: (timeout ?? configuration.commandTimeout).timeAmount)
    }

    /// Sends one command and throws `.server` if Redis answered with an error.
    @discardableResult
    public func execute(_ name: String, _ arguments: [RedisArgument] = [], timeout: Duration? = nil) async throws
        -> RESPValue
    {
        let reply = try await send(RedisCommand(name, arguments), timeout: timeout)
        if case .error(let message) = reply { throw RedisError(code: .server, message: message) }
        return reply
    }

    private func connection() async throws -> RedisConnection {
        enum Next {
            case use(RedisConnection)
            case wait(EventLoopFuture<RedisConnection>)
            case connect(EventLoopPromise<RedisConnection>)
        }
        let next: Next = try state.withLock { state throws(RedisError) -> Next in
            switch state {
            case .connected(let connection) where connection.channel.isActive:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .closed:
                throw RedisError(code: .closed, message: "client closed")
            case .idle, .connected:
                let promise = group.next().makePromise(of: RedisConnection.self)
                state = .connecting(promise.futureResult)
                return .connect(promise)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .wait(let future):
            return try await future.get()
        case .connect(let promise):
            do {
                let connection = try await connect()
                let closedMeanwhile = state.withLock { state -> Bool in
                    if case .closed = state { return true }
                    state = .connected(connection)
                    return false
                }
                if closedMeanwhile {
                    try? await connection.channel.close()
                    throw RedisError(code: .closed, message: "client closed")
                }
                promise.succeed(connection)
                return connection
            } catch {
                state.withLock { state in
                    if case .connecting = state { state = .idle }
                }
                promise.fail(error)
                throw error
            }
        }
    }

    private func connect() async throws -> RedisConnection {
        let configuration = self.configuration
        let connection: RedisConnection
        do {
            let tls = try configuration.tls.map { try $0.context() }
            // SNI and name verification want a host name; an IP address is verified as one.
            let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
            let serverHostname = isAddress ? nil : configuration.host
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.connectTimeout.timeAmount)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                        }
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler())
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self),
                    eventLoop: channel.eventLoop)
            }.get()
            connection = RedisConnection(channel: channel, handler: handler)
        } catch {
            throw RedisError(
                code: .connection, message: "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        var setup: [RedisCommand] = []
        if let password = configuration.password {
            setup.append(
                RedisCommand(
                    "AUTH", configuration.username.map { [.string($0), .string(password)] } ?? [.string(password)]))
        }
        if configuration.database != 0 { setup.append(RedisCommand("SELECT", [RedisArgument(configuration.database)])) }
        if !setup.isEmpty {
            let replies = try await connection.send(setup, timeout: configuration.commandTimeout.timeAmount)
            for case .error(let message) in replies {
                try? await connection.channel.close()
                throw RedisError(code: .connection, message: "connection set-up refused: \(message)")
            }
        }
        logger.debug(
            "Redis connected", metadata: ["redis.host": "\(configuration.host)", "redis.port": "\(configuration.port)"])
        return connection
    }

    // MARK: Scripts

    /// Runs a Lua script by its SHA1 (`EVALSHA`), loading it on first use or after a server restart.
    public func eval(_ script: String, keys: [String], arguments: [RedisArgument] = []) async throws -> RESPValue {
        let tail: [RedisArgument] = [RedisArgument(keys.count)] + keys.map { .string($0) } + arguments
        if let sha = scriptHashes.withLock({ $0[script] }) {
            let reply = try await send(RedisCommand("EVALSHA", [.string(sha)] + tail))
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                scriptHashes.withLock { _ = $0.removeValue(forKey: script) }
            } else {
                if case .error(let message) = reply { throw RedisError(code: .server, message: message) }
                return reply
            }
        }
        let loaded = try await execute("SCRIPT", ["LOAD", .string(script)])
        guard let sha = loaded.string else {
            throw RedisError(code: .unexpectedReply, message: "SCRIPT LOAD returned \(loaded)")
        }
        scriptHashes.withLock { $0[script] = sha }
        return try await execute("EVALSHA", [.string(sha)] + tail)
    }
}
