import BridgeEngine
import Contracts
import Foundation
import Logging
import MariaDB
import Synchronization

/// The leader's session in binlog mode: the leader connection (lock, checkpoint, dead letters)
/// and a binlog dump from the checkpoint. Rows of a transaction are returned together when it
/// commits (a transaction larger than a batch is split, and only its last row ends it); event ids
/// are derived from (transport, file:offset, row index), so a re-read publishes the same ids.
public final class MySQLBinlogSession: ChangeSession {
    public typealias Position = BinlogPosition

    let connection: MariaDBConnection
    let store: MySQLChangeLogStore
    let configuration: MariaDBConfiguration
    let transportName: String
    let serverID: UInt32
    let tables: MySQLBinlogTables
    let charsets: MySQLCharsets
    let progress: BinlogProgress
    let logger: Logger

    /// The reader's state: only `readBatch` touches it, and the engine never runs two at once.
    private struct Reader: @unchecked Sendable {
        // `@unchecked`: holds a stream (Sendable) and values; guarded by the Mutex below.
        var stream: MariaDBBinlogStream?
        /// Events fetched and not yet processed.
        var buffered: ArraySlice<MariaDBBinlogEvent> = []
        var file: String
        /// Where to open the dump next (after the last processed event).
        var next: UInt64
        var tableMaps: [UInt64: BinlogTableMap] = [:]
        var pending: [ChangeRecord<BinlogPosition>] = []
        var transactionStart: UInt64
        var gtid: String?
        var inTransaction = false
        /// The end of the last transaction read (what an idle checkpoint may move to).
        var lastCommit: BinlogPosition?
        /// The server time of the current transaction's first event, and of the first one returned.
        var transactionTime: UInt32 = 0
        var outputTime: UInt32 = 0
        /// JSON columns by `schema.table`.
        var jsonColumns: [String: Set<String>] = [:]
    }

    /// Taken out while a read runs (so its arrays are never shared, never copied on write).
    private let reader: Mutex<Reader?>
    private let checkpoint: Mutex<BinlogPosition?>

    init(
        connection: MariaDBConnection, configuration: MariaDBConfiguration, transportName: String, serverID: UInt32,
        tables: MySQLBinlogTables, charsets: MySQLCharsets, checkpoint: BinlogPosition, progress: BinlogProgress,
        jsonColumns: [String: Set<String>], logger: Logger
    ) {
        self.connection = connection
        self.store = MySQLChangeLogStore(connection: connection)
        self.configuration = configuration
        self.transportName = transportName
        self.serverID = serverID
        self.tables = tables
        self.charsets = charsets
        self.progress = progress
        self.logger = logger
        self.checkpoint = Mutex(checkpoint)
        var reader = Reader(file: checkpoint.file, next: checkpoint.resume, transactionStart: checkpoint.resume)
        reader.jsonColumns = jsonColumns
        self.reader = Mutex(reader)
        progress.reset()
    }

    public var retention: Retention { .database }

    public func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<BinlogPosition>] {
        guard var state = reader.withLock({ $0.take() }) else {
            throw MySQLBinlogError("two reads of one session at once")
        }
        if mode == .restart {
            await state.stream?.close()
            let from = checkpoint.withLock { $0 }!
            state = Reader(
                file: from.file, next: from.resume, tableMaps: [:], transactionStart: from.resume,
                jsonColumns: state.jsonColumns)
            progress.reset()
        }
        var output: [ChangeRecord<BinlogPosition>] = []
        do {
            try await read(into: &output, state: &state, limit: limit)
        } catch {
            await state.stream?.close()
            state.stream = nil
            state.buffered = []
            reader.withLock { $0 = state }
            throw error
        }
        reader.withLock { $0 = state }
        progress.read(output.count, eventTime: state.outputTime)
        return output
    }

    private func read(into output: inout [ChangeRecord<BinlogPosition>], state: inout Reader, limit: Int) async throws {
        var reopened = false
        while output.count < limit {
            if state.buffered.isEmpty {
                if let stream = state.stream, stream.isFinished {
                    await stream.close()
                    state.stream = nil
                    // The end of the binlog: what was read is returned; the next call opens again.
                    if !output.isEmpty || reopened {
                        // Only with nothing in hand: rows about to be returned are not published
                        // yet, and the checkpoint must not pass them.
                        if output.isEmpty { try await advanceIdleCheckpoint(state) }
                        return
                    }
                }
                if state.stream == nil {
                    state.stream = try await open(state)
                    reopened = true
                }
                let events: [MariaDBBinlogEvent]
                do {
                    events = try await state.stream!.next(limit: 2_000)
                } catch let error as MariaDBError where error.serverCode == 1236 {
                    throw BridgeError.resyncRequired(
                        "the server cannot send the binlog from the checkpoint: \(error.message)")
                }
                state.buffered = events[...]
                if events.isEmpty { continue }
            }
            while let event = state.buffered.first, output.count < limit {
                state.buffered = state.buffered.dropFirst()
                try await process(event, state: &state, output: &output, limit: limit)
                if event.nextPosition != 0 { state.next = UInt64(event.nextPosition) }
            }
        }
    }

    /// Opens the dump at the reader's position, after checking the server still holds its file.
    private func open(_ state: Reader) async throws -> MariaDBBinlogStream {
        let files = try await store.binlogFiles()
        guard files.contains(state.file) else {
            throw BridgeError.resyncRequired(
                "binlog \(state.file), which holds the checkpoint, was purged (the server holds \(files.sorted().first ?? "none") and later)"
            )
        }
        do {
            return try await MariaDBBinlogStream.open(
                configuration, file: state.file, position: max(4, state.next), serverID: serverID)
        } catch let error as MariaDBError where error.serverCode == 1236 {
            throw BridgeError.resyncRequired("the server cannot send the binlog from the checkpoint: \(error.message)")
        }
    }

    private func process(
        _ event: MariaDBBinlogEvent, state: inout Reader, output: inout [ChangeRecord<BinlogPosition>], limit: Int
    ) async throws {
        switch event.type {
        case 4:  // ROTATE: the next file, and where in it.
            var bytes = BinlogBytes(event.body)
            let position = try bytes.little(8)
            let name = String(decoding: try bytes.take(bytes.remaining), as: UTF8.self)
            if name != state.file {
                state.file = name
                state.tableMaps = [:]
            }
            state.next = position
        case 162:  // GTID (MariaDB): a transaction begins.
            var bytes = BinlogBytes(event.body)
            let sequence = try bytes.little(8)
            let domain = try bytes.little(4)
            let flags = try bytes.byte()
            state.gtid = "\(domain)-\(event.serverID)-\(sequence)"
            state.transactionStart = event.position
            state.transactionTime = event.timestamp
            // Standalone (DDL, non-transactional): no XID ends it, its one statement does.
            state.inTransaction = flags & 0x01 == 0
        case 33, 34:  // GTID / ANONYMOUS_GTID (MySQL)
            state.transactionStart = event.position
            state.transactionTime = event.timestamp
            state.gtid = nil
            state.inTransaction = false
        case 2:  // QUERY: BEGIN, COMMIT, or a statement (DDL).
            let statement = try Self.statement(event.body)
            let keyword = statement.prefix(8).uppercased()
            if keyword.hasPrefix("BEGIN") {
                if !state.inTransaction, state.gtid == nil {
                    state.transactionStart = event.position
                    state.transactionTime = event.timestamp
                }
                state.inTransaction = true
            } else if keyword.hasPrefix("COMMIT") {
                commit(at: UInt64(event.nextPosition), state: &state, output: &output)
            } else {
                // DDL: column types may have changed.
                for table in tables.all { state.jsonColumns["\(table.schema).\(table.name)"] = nil }
                if !state.inTransaction { commit(at: UInt64(event.nextPosition), state: &state, output: &output) }
            }
        case 16:  // XID: the transaction committed.
            commit(at: UInt64(event.nextPosition), state: &state, output: &output)
        case 19:  // TABLE_MAP
            let map = try BinlogTableMap(body: event.body)
            state.tableMaps[map.tableID] = map
        case 23, 24, 25, 30, 31, 32:
            try await rows(event, state: &state)
            let room = limit - output.count
            if state.pending.count > room {
                // A transaction larger than the batch: its first rows go now (none ends it); at
                // least its last row stays until the commit, which it carries.
                if output.isEmpty { state.outputTime = state.transactionTime }
                output += state.pending.prefix(room)
                state.pending.removeFirst(room)
            }
        case 166...171:
            throw BinlogDecodingError(
                "compressed rows events (log_bin_compress) are not supported: turn log_bin_compress off")
        default:
            break
        }
    }

    /// The statement of a QUERY event.
    static func statement(_ body: [UInt8]) throws(BinlogDecodingError) -> String {
        var bytes = BinlogBytes(body)
        try bytes.skip(8)  // thread id, execution time
        let schemaLength = Int(try bytes.byte())
        try bytes.skip(2)  // error code
        let statusLength = Int(try bytes.little(2))
        try bytes.skip(statusLength + schemaLength + 1)
        return String(decoding: try bytes.take(bytes.remaining), as: UTF8.self)
    }

    private func commit(at end: UInt64, state: inout Reader, output: inout [ChangeRecord<BinlogPosition>]) {
        if !state.pending.isEmpty {
            if output.isEmpty { state.outputTime = state.transactionTime }
            state.pending[state.pending.count - 1].endsTransaction = true
            state.pending[state.pending.count - 1].position.resume = end
            output += state.pending
            state.pending = []
        }
        state.lastCommit = BinlogPosition(file: state.file, offset: end, row: 0, resume: end, gtid: state.gtid)
        state.transactionStart = end
        state.inTransaction = false
    }

    private func rows(_ event: MariaDBBinlogEvent, state: inout Reader) async throws {
        let tableID = try BinlogRows.tableID(body: event.body)
        guard let map = state.tableMaps[tableID], let table = tables.table(schema: map.schema, name: map.table) else {
            return
        }
        let operation: Contracts.Operation =
            switch event.type {
            case 23, 30: .insert
            case 24, 31: .update
            default: .delete
            }
        let where_ = "\(state.file):\(event.position)"
        guard map.hasNames else {
            throw BinlogDecodingError(
                "the table map of \(map.schema).\(map.table) has no column names: set binlog_row_metadata=FULL")
        }
        var columns = map
        let key = "\(map.schema).\(map.table)"
        if state.jsonColumns[key] == nil {
            state.jsonColumns[key] = try await store.jsonColumns(schema: map.schema, table: map.table)
        }
        let json = state.jsonColumns[key] ?? []
        if !json.isEmpty {
            for index in columns.columns.indices where json.contains(columns.columns[index].name) {
                columns.columns[index].isJSON = true
            }
        }
        let decoded: BinlogRows
        do {
            decoded = try BinlogRows(
                body: event.body, operation: operation, version2: event.type >= 30, table: columns, charsets: charsets)
        } catch {
            logger.error(
                "rows event cannot be decoded: set aside",
                metadata: ["bridge.position": "\(where_)", "error": "\(error)"])
            try await store.recordUndecodable(
                transport: transportName, position: where_, entityType: table.configuration.entity,
                reason: "\(error)")
            return
        }
        let ids = StableEventID.Prefix(source: transportName, position: where_)
        // The kept columns in name order (the wire format's key order), once per rows event.
        let order = columns.columns.indices.filter { table.keeps(columns.columns[$0].name) }
            .sorted { columns.columns[$0].name < columns.columns[$1].name }
        let names = columns.columns.map(\.name)
        let idIndex = names.firstIndex(of: table.configuration.idColumn)
        let tenantIndex = table.configuration.tenantColumn.flatMap { names.firstIndex(of: $0) }
        for (index, row) in decoded.rows.enumerated() {
            func fields(_ image: BinlogRows.Image?) -> [(name: String, value: JSONValue)]? {
                image.map { image in order.compactMap { column in image[column].map { (names[column], $0) } } }
            }
            var changes: [(name: String, old: JSONValue, new: JSONValue)]?
            if operation == .update, let before = row.before, let after = row.after {
                changes = order.compactMap { column in
                    guard before[column] != nil || after[column] != nil else { return nil }
                    let old = before[column] ?? .null
                    let new = after[column] ?? .null
                    return old == new ? nil : (names[column], old, new)
                }
            }
            func value(_ column: Int?) -> JSONValue? {
                guard let column else { return nil }
                return (row.after?[column] ?? nil) ?? (row.before?[column] ?? nil)
            }
            let position = BinlogPosition(
                file: state.file, offset: event.position, row: index, resume: state.transactionStart, gtid: state.gtid)
            let header = EntityEvent(
                id: ids.derive(key: String(index)), cursor: position.cursor, source: transportName,
                entityType: table.configuration.entity, entityId: Self.text(value(idIndex)), operation: operation,
                tenantId: value(tenantIndex).flatMap { $0 == .null ? nil : Self.text($0) },
                occurredAt: Timestamp(microsecondsSinceEpoch: Int64(event.timestamp) * 1_000_000))
            let payload = FastJSON.encode(
                header,
                images: FastJSON.SortedImages(before: fields(row.before), after: fields(row.after), changes: changes))
            state.pending.append(
                ChangeRecord(
                    eventID: header.id.lowercasedString, position: position, endsTransaction: false,
                    cursor: header.cursor, source: transportName, entityType: header.entityType, operation: operation,
                    payload: payload))
        }
    }

    /// A key or tenant value as the text `CAST(… AS CHAR)` gives in trigger mode.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case .int(let number)?: return String(number)
        case .double(let number)?:
            return number.rounded() == number && abs(number) < 1e18 ? String(Int64(number)) : "\(number)"
        case .bool(let flag)?: return flag ? "1" : "0"
        case nil, .null?: return ""
        case let other?: return "\(other)"
        }
    }

    /// At the end of the binlog with nothing in flight, the checkpoint follows the last commit
    /// read (transactions of other tables), so it never rests on a file the server may purge.
    private func advanceIdleCheckpoint(_ state: Reader) async throws {
        guard state.pending.isEmpty, progress.unmarked == 0, let last = state.lastCommit else { return }
        let current = checkpoint.withLock { $0 }
        guard let current, current < last else { return }
        guard
            try await store.moveCheckpoint(
                transport: transportName, from: current.checkpointText, to: last.checkpointText)
        else { throw BridgeError.leadershipLost() }
        checkpoint.withLock { $0 = last }
    }

    public func setAside(_ changes: [SetAsideChange<BinlogPosition>]) async throws {
        try await store.recordDeadLetters(transport: transportName, changes) { "\($0.file):\($0.offset):\($0.row)" }
    }

    public func markPublished(_ positions: [BinlogPosition], checkpoint newCheckpoint: BinlogPosition?) async throws {
        if let newCheckpoint {
            let current = checkpoint.withLock { $0 }
            if let current, newCheckpoint > current {
                guard
                    try await store.moveCheckpoint(
                        transport: transportName, from: current.checkpointText, to: newCheckpoint.checkpointText)
                else { throw BridgeError.leadershipLost() }
                checkpoint.withLock { $0 = newCheckpoint }
            }
        }
        progress.marked(positions.count)
    }

    public func close() async {
        let stream = reader.withLock { state -> MariaDBBinlogStream? in
            defer { state?.stream = nil }
            return state?.stream
        }
        await stream?.close()
        await connection.close()
    }
}
