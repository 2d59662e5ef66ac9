import CMariaDB

/// A prepared statement, run once: parameters bound with the binary protocol, every result
/// column fetched as text or bytes (the connector converts numbers and times), the statement
/// freed before returning. Called with the connection's lock held, on a connector thread.
enum MariaDBStatement {
    static func run(
        _ handle: UnsafeMutablePointer<MYSQL>, _ sql: String, _ parameters: [MariaDBValue]
    ) throws -> MariaDBResult {
        guard let statement = mysql_stmt_init(handle) else { throw MariaDBConnection.error(handle) }
        defer { mysql_stmt_close(statement) }
        let prepared = sql.withCString { mysql_stmt_prepare(statement, $0, UInt(sql.utf8.count)) }
        guard prepared == 0 else { throw error(statement) }
        guard Int(mysql_stmt_param_count(statement)) == parameters.count else {
            throw MariaDBError(
                .query, "the statement takes \(mysql_stmt_param_count(statement)) parameters, \(parameters.count) given"
            )
        }
        var storage: [UnsafeMutableRawPointer] = []
        defer { for pointer in storage { pointer.deallocate() } }
        func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
            storage.append(pointer)
            return pointer
        }
        var binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: parameters.count)
        for (index, parameter) in parameters.enumerated() {
            switch parameter {
            case .null:
                binds[index].buffer_type = MYSQL_TYPE_NULL
            case .int(let value):
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].buffer = withUnsafeBytes(of: value) { copy($0) }
            case .uint(let value):
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].is_unsigned = 1
                binds[index].buffer = withUnsafeBytes(of: value) { copy($0) }
            case .double(let value):
                binds[index].buffer_type = MYSQL_TYPE_DOUBLE
                binds[index].buffer = withUnsafeBytes(of: value) { copy($0) }
            case .text(let text):
                let bytes = Array(text.utf8)
                binds[index].buffer_type = MYSQL_TYPE_STRING
                binds[index].buffer = bytes.withUnsafeBytes { copy($0) }
                binds[index].buffer_length = UInt(bytes.count)
            case .bytes(let bytes):
                binds[index].buffer_type = MYSQL_TYPE_BLOB
                binds[index].buffer = bytes.withUnsafeBytes { copy($0) }
                binds[index].buffer_length = UInt(bytes.count)
            }
        }
        if !binds.isEmpty {
            guard binds.withUnsafeMutableBufferPointer({ mysql_stmt_bind_param(statement, $0.baseAddress) }) == 0
            else { throw error(statement) }
        }
        guard mysql_stmt_execute(statement) == 0 else { throw error(statement) }
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            return MariaDBResult(
                affectedRows: mysql_stmt_affected_rows(statement), insertID: mysql_stmt_insert_id(statement))
        }
        defer { mysql_free_result(metadata) }
        return try fetchRows(statement, metadata)
    }

    private static func fetchRows(
        _ statement: UnsafeMutablePointer<MYSQL_STMT>, _ metadata: UnsafeMutablePointer<MYSQL_RES>
    ) throws -> MariaDBResult {
        var update: my_bool = 1
        mysql_stmt_attr_set(statement, STMT_ATTR_UPDATE_MAX_LENGTH, &update)
        guard mysql_stmt_store_result(statement) == 0 else { throw error(statement) }
        let count = Int(mysql_num_fields(metadata))
        let fields = mysql_fetch_fields(metadata)!
        var result = MariaDBResult(columns: (0..<count).map { String(cString: fields[$0].name) })
        let lengths = UnsafeMutablePointer<UInt>.allocate(capacity: max(count, 1))
        let nulls = UnsafeMutablePointer<my_bool>.allocate(capacity: max(count, 1))
        var buffers: [UnsafeMutableRawPointer] = []
        var capacities: [Int] = []
        defer {
            lengths.deallocate()
            nulls.deallocate()
            for buffer in buffers { buffer.deallocate() }
        }
        var binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: count)
        for column in 0..<count {
            // max_length is known after store_result; numbers and times get room for their text.
            let capacity = max(Int(fields[column].max_length), 64) + 1
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            buffers.append(buffer)
            capacities.append(capacity)
            binds[column].buffer_type = MYSQL_TYPE_STRING
            binds[column].buffer = buffer
            binds[column].buffer_length = UInt(capacity)
            binds[column].length = lengths + column
            binds[column].is_null = nulls + column
        }
        guard binds.withUnsafeMutableBufferPointer({ mysql_stmt_bind_result(statement, $0.baseAddress) }) == 0 else {
            throw error(statement)
        }
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw error(statement) }
            var values: [[UInt8]?] = []
            values.reserveCapacity(count)
            for column in 0..<count {
                if nulls[column] != 0 {
                    values.append(nil)
                    continue
                }
                let length = Int(lengths[column])
                if length <= capacities[column] {
                    values.append(Array(UnsafeRawBufferPointer(start: buffers[column], count: length)))
                    continue
                }
                // Longer than the buffer: fetch this column again into one of its size.
                var whole = [UInt8](repeating: 0, count: length)
                var wholeLength: UInt = 0
                let fetched = whole.withUnsafeMutableBytes { bytes -> Int32 in
                    var bind = MYSQL_BIND()
                    bind.buffer_type = MYSQL_TYPE_STRING
                    bind.buffer = bytes.baseAddress
                    bind.buffer_length = UInt(length)
                    return withUnsafeMutablePointer(to: &wholeLength) { lengthPointer in
                        bind.length = lengthPointer
                        return mysql_stmt_fetch_column(statement, &bind, UInt32(column), 0)
                    }
                }
                guard fetched == 0 else { throw error(statement) }
                values.append(Array(whole.prefix(Int(wholeLength))))
            }
            result.rows.append(values)
        }
        return result
    }

    static func error(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> MariaDBError {
        let number = mysql_stmt_errno(statement)
        let lost = number == 2006 || number == 2013 || number == 2055
        return MariaDBError(
            lost ? .closed : .query, String(cString: mysql_stmt_error(statement)), serverCode: number,
            sqlState: String(cString: mysql_stmt_sqlstate(statement)))
    }
}
