/// MariaDB: the fleet's MySQL and MariaDB client, over MariaDB Connector/C (libmariadb).
///
/// This module is the only importer of `CMariaDB`. It owns every C pointer: a `MYSQL` handle
/// lives in ``MariaDBConnection`` and is freed in `deinit` (or at ``MariaDBConnection/close()``);
/// results and statements are converted to Swift values and freed before a call returns. Every
/// connector call that can block runs on ``MariaDBThreads`` (a `NIOThreadPool`), one at a time
/// per connection, bounded by the connection's read and write timeouts.
import CMariaDB
import NIOConcurrencyHelpers

/// One connection to a MySQL or MariaDB server. Not reconnecting by itself: session state (a
/// `GET_LOCK`, a transaction) dies with it, and the caller decides (``MariaDBClient`` reconnects
/// for short queries).
///
/// `@unchecked Sendable`: the `MYSQL` handle is only touched with `lock` held, on a thread of
/// ``MariaDBThreads`` (or in `deinit`, when no call can be running), so no two threads ever use it
/// at once, which is all the connector asks.
public final class MariaDBConnection: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>
    private let lock = NIOLock()
    /// Guarded by `lock`: false once closed or lost.
    private var isOpen = true
    public let configuration: MariaDBConfiguration
    /// The server's id for this session (`CONNECTION_ID()`).
    public let connectionID: UInt64

    private init(handle: UnsafeMutablePointer<MYSQL>, configuration: MariaDBConfiguration) {
        self.handle = handle
        self.configuration = configuration
        self.connectionID = UInt64(mysql_thread_id(handle))
    }

    deinit {
        if isOpen { mysql_close(handle) }
    }

    /// Opens a connection (utf8mb4, session time zone UTC).
    public static func connect(_ configuration: MariaDBConfiguration) async throws -> MariaDBConnection {
        let connection = try await MariaDBThreads.run { () throws -> MariaDBConnection in
            guard let handle = mysql_init(nil) else { throw MariaDBError(.connect, "out of memory") }
            do {
                try setOptions(handle, configuration)
                let connected = mysql_real_connect(
                    handle, configuration.host, configuration.user, configuration.password, configuration.database,
                    UInt32(configuration.port), nil, 0)
                guard connected != nil else { throw error(handle, code: .connect) }
                return MariaDBConnection(handle: handle, configuration: configuration)
            } catch {
                mysql_close(handle)
                throw error
            }
        }
        do {
            _ = try await connection.query("SET time_zone = '+00:00'")
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Timeouts, character set, no automatic reconnect, TLS: for every connection the module opens.
    static func setOptions(_ handle: UnsafeMutablePointer<MYSQL>, _ configuration: MariaDBConfiguration) throws {
        func seconds(_ option: mysql_option, _ duration: Duration) {
            var value = UInt32(max(1, duration.components.seconds))
            mysql_options(handle, option, &value)
        }
        seconds(MYSQL_OPT_CONNECT_TIMEOUT, configuration.connectTimeout)
        seconds(MYSQL_OPT_READ_TIMEOUT, configuration.readTimeout)
        seconds(MYSQL_OPT_WRITE_TIMEOUT, configuration.writeTimeout)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        var no: my_bool = 0
        mysql_options(handle, MYSQL_OPT_RECONNECT, &no)
        switch configuration.tls {
        case .disabled: break
        case .preferred, .required, .verifyIdentity:
            if let ca = configuration.tlsCAFile { mysql_options(handle, MYSQL_OPT_SSL_CA, ca) }
            var enforce: my_bool = configuration.tls == .preferred ? 0 : 1
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &enforce)
            var verify: my_bool = configuration.tls == .verifyIdentity ? 1 : 0
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)
        }
    }

    static func error(_ handle: UnsafeMutablePointer<MYSQL>, code: MariaDBError.Code = .query) -> MariaDBError {
        let number = mysql_errno(handle)
        let lost = number == 2006 || number == 2013 || number == 2055
        return MariaDBError(
            lost ? .closed : code, String(cString: mysql_error(handle)), serverCode: number,
            sqlState: String(cString: mysql_sqlstate(handle)))
    }

    /// Runs `body` with the handle on a connector thread, one call at a time; a lost connection
    /// is closed so that every later call fails at once.
    private func withHandle<T: Sendable>(
        _ body: @escaping @Sendable (UnsafeMutablePointer<MYSQL>) throws -> T
    ) async throws -> T {
        try await MariaDBThreads.run { [self] () throws -> T in
            try lock.withLock { () throws -> T in
                guard isOpen else { throw MariaDBError(.closed, "the connection is closed") }
                do {
                    return try body(handle)
                } catch let error as MariaDBError where error.code == .closed {
                    isOpen = false
                    mysql_close(handle)
                    throw error
                }
            }
        }
    }

    /// Whether the connection is still open (not closed, not found lost).
    public var isConnected: Bool { lock.withLock { isOpen } }

    /// Runs one statement. Without parameters it goes as text; with them, as a prepared
    /// statement whose parameters travel apart from the SQL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [MariaDBValue]) async throws -> MariaDBResult {
        if parameters.isEmpty {
            return try await withHandle { handle in try Self.textQuery(handle, sql) }
        }
        return try await withHandle { handle in try MariaDBStatement.run(handle, sql, parameters) }
    }

    /// A round trip to the server (`mysql_ping`).
    public func ping() async -> Bool {
        (try? await withHandle { handle -> Bool in
            guard mysql_ping(handle) == 0 else { throw Self.error(handle) }
            return true
        }) ?? false
    }

    /// Sends `COM_QUIT` and frees the handle. Later calls fail with ``MariaDBError/Code/closed``.
    public func close() async {
        _ = try? await MariaDBThreads.run { [self] in
            lock.withLock {
                if isOpen {
                    isOpen = false
                    mysql_close(handle)
                }
            }
        }
    }

    private static func textQuery(_ handle: UnsafeMutablePointer<MYSQL>, _ sql: String) throws -> MariaDBResult {
        let status = sql.withCString { mysql_real_query(handle, $0, UInt(sql.utf8.count)) }
        guard status == 0 else { throw error(handle) }
        var result = try storeResult(handle)
        // Further result sets (a procedure's) are read and dropped so the connection stays usable.
        while mysql_more_results(handle) != 0 {
            guard mysql_next_result(handle) == 0 else { throw error(handle) }
            if result.columns.isEmpty { result = try storeResult(handle) } else { _ = try storeResult(handle) }
        }
        return result
    }

    private static func storeResult(_ handle: UnsafeMutablePointer<MYSQL>) throws -> MariaDBResult {
        guard let stored = mysql_store_result(handle) else {
            guard mysql_field_count(handle) == 0 else { throw error(handle) }
            return MariaDBResult(affectedRows: mysql_affected_rows(handle), insertID: mysql_insert_id(handle))
        }
        defer { mysql_free_result(stored) }
        let count = Int(mysql_num_fields(stored))
        let fields = mysql_fetch_fields(stored)
        var result = MariaDBResult(columns: (0..<count).map { String(cString: fields![$0].name) })
        result.rows.reserveCapacity(Int(mysql_num_rows(stored)))
        while let row = mysql_fetch_row(stored) {
            guard let lengths = mysql_fetch_lengths(stored) else { break }
            var values: [[UInt8]?] = []
            values.reserveCapacity(count)
            for column in 0..<count {
                if let value = row[column] {
                    values.append(Array(UnsafeRawBufferPointer(start: value, count: Int(lengths[column]))))
                } else {
                    values.append(nil)
                }
            }
            result.rows.append(values)
        }
        return result
    }

    /// `text` as a quoted SQL string literal for this connection's character set and SQL mode
    /// (for statements that cannot take parameters, such as DDL).
    public func literal(_ text: String) -> String {
        lock.withLock {
            guard isOpen else {
                return "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''")
                    + "'"
            }
            let bytes = Array(text.utf8)
            var out = [CChar](repeating: 0, count: bytes.count * 2 + 1)
            let length = bytes.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: CChar.self) { chars in
                    mysql_real_escape_string(handle, &out, chars.baseAddress, UInt(bytes.count))
                }
            }
            let escaped = out[0..<Int(length)].map { UInt8(bitPattern: $0) }
            return "'" + String(decoding: escaped, as: UTF8.self) + "'"
        }
    }
}

extension MariaDBConnection {
    /// `name` as a quoted identifier (back-ticks doubled inside).
    public static func identifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }
}
