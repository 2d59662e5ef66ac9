import CMariaDB
import NIOConcurrencyHelpers

/// Reads a server's binlog as a replica does (`COM_BINLOG_DUMP` through the connector's
/// replication API, `mariadb_rpl.h`), from a file and position, until the end of the binlog
/// (non-blocking dump: the server says when it has nothing more; open again to go on).
///
/// `@unchecked Sendable`: the `MYSQL` and `MARIADB_RPL` handles are only
/// touched with `lock` held, on a thread of ``MariaDBThreads`` (or in `deinit`).
public final class MariaDBBinlogStream: @unchecked Sendable {
    private let connection: UnsafeMutablePointer<MYSQL>
    private let replication: UnsafeMutablePointer<MARIADB_RPL>
    private let lock = NIOLock()
    private var isOpen = true
    private var ended = false
    /// Whether events end with a CRC32 (the server's `binlog_checksum`): read before the dump,
    /// because the first event (the artificial ROTATE) comes before the connector learns it.
    private let checksum: Bool

    private init(
        connection: UnsafeMutablePointer<MYSQL>, replication: UnsafeMutablePointer<MARIADB_RPL>, checksum: Bool
    ) {
        self.connection = connection
        self.replication = replication
        self.checksum = checksum
    }

    deinit {
        if isOpen { release() }
    }

    private func release() {
        mariadb_rpl_close(replication)
        mysql_close(connection)
        isOpen = false
    }

    /// Starts a dump of `file` from `position` as replica `serverID` (unique among the server's
    /// replicas: a second dump with the same id ends the first). GTID events are asked for
    /// (MariaDB), and checksums are verified by the connector.
    public static func open(
        _ configuration: MariaDBConfiguration, file: String, position: UInt64, serverID: UInt32
    ) async throws -> MariaDBBinlogStream {
        try await MariaDBThreads.run { () throws -> MariaDBBinlogStream in
            guard let handle = mysql_init(nil) else { throw MariaDBError(.connect, "out of memory") }
            do {
                try MariaDBConnection.setOptions(handle, configuration)
            } catch {
                mysql_close(handle)
                throw error
            }
            guard
                mysql_real_connect(
                    handle, configuration.host, configuration.user, configuration.password, nil,
                    UInt32(configuration.port), nil, 0) != nil
            else {
                let error = MariaDBConnection.error(handle, code: .connect)
                mysql_close(handle)
                throw error
            }
            var checksum = false
            for statement in [
                "SET @mariadb_slave_capability = 4", "SET @master_binlog_checksum = @@global.binlog_checksum",
                "SELECT @@global.binlog_checksum",
            ] {
                guard mysql_real_query(handle, statement, UInt(statement.utf8.count)) == 0 else {
                    let error = MariaDBConnection.error(handle)
                    mysql_close(handle)
                    throw error
                }
                if let result = mysql_store_result(handle) {
                    if let row = mysql_fetch_row(result), let value = row[0] {
                        checksum = String(cString: value).uppercased() != "NONE"
                    }
                    mysql_free_result(result)
                }
            }
            guard let replication = fraiseql_rpl_init(handle) else {
                mysql_close(handle)
                throw MariaDBError(.connect, "the connector's replication API is not available")
            }
            let stream = MariaDBBinlogStream(connection: handle, replication: replication, checksum: checksum)
            let status = file.withCString { name in
                fraiseql_rpl_set_file(replication, name, file.utf8.count) == 0
                    && fraiseql_rpl_set_start(replication, UInt(position)) == 0
                    && fraiseql_rpl_set_server_id(replication, serverID) == 0
                    && fraiseql_rpl_set_flags(replication, UInt32(MARIADB_RPL_BINLOG_DUMP_NON_BLOCK)) == 0
            }
            guard status, mariadb_rpl_open(replication) == 0 else {
                let error = MariaDBConnection.error(handle)
                stream.release()
                throw error
            }
            return stream
        }
    }

    /// Up to `limit` events, in binlog order; an empty array once the end of the binlog was
    /// reached (the stream is then finished: open a new one from the last position to go on).
    public func next(limit: Int) async throws -> [MariaDBBinlogEvent] {
        try await MariaDBThreads.run { [self] () throws -> [MariaDBBinlogEvent] in
            try lock.withLock { () throws -> [MariaDBBinlogEvent] in
                guard isOpen else { throw MariaDBError(.closed, "the binlog stream is closed") }
                var events: [MariaDBBinlogEvent] = []
                while !ended, events.count < limit {
                    // A fresh event each time, freed at once: the connector frees the event it
                    // is given when the fetch fails, so none is handed back to it.
                    guard let fetched = mariadb_rpl_fetch(replication, nil) else {
                        let number = mysql_errno(connection)
                        if number != 0 {
                            let error = MariaDBConnection.error(connection)
                            release()
                            throw error
                        }
                        ended = true
                        break
                    }
                    events.append(Self.copy(fetched.pointee, checksum: checksum))
                    mariadb_free_rpl_event(fetched)
                }
                return events
            }
        }
    }

    /// Whether the server said the binlog ends here (no more events for this stream).
    public var isFinished: Bool { lock.withLock { ended } }

    private static func copy(_ event: MARIADB_RPL_EVENT, checksum: Bool) -> MariaDBBinlogEvent {
        // raw_data: the packet's OK byte (raw_data_ofs), the 19-byte common header, the body,
        // and the 4-byte checksum when the server sends checksums.
        let headerEnd = Int(event.raw_data_ofs) + 19
        let end = Int(event.raw_data_size) - (checksum && event.event_type != FORMAT_DESCRIPTION_EVENT ? 4 : 0)
        var body: [UInt8] = []
        if let raw = event.raw_data, end > headerEnd {
            body = Array(UnsafeBufferPointer(start: raw + headerEnd, count: end - headerEnd))
        }
        return MariaDBBinlogEvent(
            type: UInt8(truncatingIfNeeded: event.event_type.rawValue), timestamp: UInt32(event.timestamp),
            serverID: UInt32(event.server_id), length: UInt32(event.event_length),
            nextPosition: UInt32(event.next_event_pos), flags: UInt16(event.flags), body: body)
    }

    public func close() async {
        _ = try? await MariaDBThreads.run { [self] in
            lock.withLock { if isOpen { release() } }
        }
    }
}
