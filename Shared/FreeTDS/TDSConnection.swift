/// FreeTDS: the fleet's SQL Server client, over FreeTDS's db-lib (libsybdb).
///
/// This module is the only importer of `CFreeTDS`. A `DBPROCESS` lives in ``TDSConnection`` and is
/// closed in `deinit` or ``TDSConnection/close()``; rows are copied into Swift values before a call
/// returns. db-lib blocks: every call runs on a thread pool of its own, one at a time per
/// connection, bounded by the login and query timeouts. db-lib reports errors through
/// process-wide handlers: they file each message under its connection, and the call that failed
/// reads it.
import CFreeTDS
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// One session with a SQL Server.
///
/// `@unchecked Sendable`: the `DBPROCESS` is only touched with `lock` held on a thread of the
/// module's pool (or in `deinit`, when no call can run).
public final class TDSConnection: @unchecked Sendable {
    private let process: OpaquePointer
    private let lock = NIOLock()
    private var isOpen = true
    public let configuration: TDSConfiguration

    private init(process: OpaquePointer, configuration: TDSConfiguration) {
        self.process = process
        self.configuration = configuration
    }

    deinit {
        if isOpen {
            TDSMessages.forget(process)
            dbclose(process)
        }
    }

    /// db-lib initialised and its error handlers installed (they cancel a failing call instead of
    /// db-lib's default, which exits the process). Called by every connect; tests that use db-lib
    /// directly call it first.
    @discardableResult
    public static func initialize() -> Bool { TDSMessages.installed }

    static let pool: NIOThreadPool = {
        _ = TDSMessages.installed
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// Logs in (TDS 7.4, UTF-8, encryption as configured) and selects the database.
    public static func connect(_ configuration: TDSConfiguration) async throws -> TDSConnection {
        try await pool.runIfActive { () throws -> TDSConnection in
            guard let login = dblogin() else { throw TDSError(.connect, "db-lib could not allocate a login") }
            defer { dbloginfree(login) }
            _ = fraiseql_setluser(login, configuration.user)
            _ = fraiseql_setlpwd(login, configuration.password)
            _ = fraiseql_setlapp(login, "fraiseql-mssql-bridge")
            _ = fraiseql_setlcharset(login, "UTF-8")
            _ = fraiseql_setlversion(login)
            _ = fraiseql_setlencrypt(login, configuration.encrypt ? 1 : 0)
            if let database = configuration.database { _ = fraiseql_setldbname(login, database) }
            dbsetlogintime(Int32(configuration.loginTimeout))
            dbsettime(Int32(configuration.timeout))
            let server = try FreeTDSConfigFile.server(for: configuration)
            let (opened, message) = TDSMessages.login { fraiseql_dbopen(login, server) }
            guard let process = opened else {
                throw TDSError(
                    .connect,
                    "cannot log in to \(configuration.host):\(configuration.port): \(message?.text ?? "no answer")",
                    number: message?.number ?? 0)
            }
            return TDSConnection(process: process, configuration: configuration)
        }
    }

    /// Runs a batch; returns the rows of its first result set.
    @discardableResult
    public func query(_ sql: String) async throws -> TDSResult {
        try await results(sql).first ?? TDSResult()
    }

    /// Runs a batch; returns every result set that has columns, in order.
    public func results(_ sql: String) async throws -> [TDSResult] {
        try await Self.pool.runIfActive { [self] () throws -> [TDSResult] in
            try lock.withLock { () throws -> [TDSResult] in
                guard isOpen, dbdead(process) == 0 else { throw TDSError(.closed, "the connection is closed") }
                TDSMessages.clear(process)
                guard dbcmd(process, sql) == SUCCEED, dbsqlexec(process) == SUCCEED else {
                    throw failure(.query)
                }
                var sets: [TDSResult] = []
                while true {
                    let status = dbresults(process)
                    if status == NO_MORE_RESULTS { break }
                    guard status == SUCCEED else { throw failure(.query) }
                    let count = Int(dbnumcols(process))
                    var set = TDSResult(
                        columns: (1...max(count, 1)).prefix(count).map {
                            String(cString: dbcolname(process, Int32($0)))
                        },
                        types: (1...max(count, 1)).prefix(count).map { dbcoltype(process, Int32($0)) })
                    while true {
                        let row = dbnextrow(process)
                        if row == NO_MORE_ROWS { break }
                        guard row == REG_ROW else {
                            if row == FAIL { throw failure(.query) }
                            continue
                        }
                        set.rows.append(
                            (0..<count).map { index -> [UInt8]? in
                                let column = Int32(index + 1)
                                guard let data = dbdata(process, column) else { return nil }
                                return Array(UnsafeBufferPointer(start: data, count: Int(dbdatlen(process, column))))
                            })
                    }
                    if count > 0 { sets.append(set) }
                }
                return sets
            }
        }
    }

    private func failure(_ code: TDSError.Code) -> TDSError {
        let dead = dbdead(process) != 0
        let (message, number) = TDSMessages.takeWithNumber(process)
        return TDSError(dead ? .closed : code, message ?? "the statement failed", number: number)
    }

    public func close() async {
        _ = try? await Self.pool.runIfActive { [self] in
            lock.withLock {
                if isOpen {
                    isOpen = false
                    TDSMessages.forget(process)
                    dbclose(process)
                }
            }
        }
    }

    /// `text` as a T-SQL Unicode literal (`N'…'`, quotes doubled).
    public static func literal(_ text: String) -> String {
        "N'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `name` as a bracketed T-SQL identifier (`]` doubled).
    public static func identifier(_ name: String) -> String {
        "[" + name.replacingOccurrences(of: "]", with: "]]") + "]"
    }
}
