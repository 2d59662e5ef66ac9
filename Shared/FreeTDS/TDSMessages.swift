import CFreeTDS
import Synchronization

/// db-lib's process-wide error and message handlers, and the messages they file per connection
/// (the key 0 stands for a login that has no connection yet).
enum TDSMessages {
    private static let filed = Mutex<[UInt: (text: String, number: Int)]>([:])

    static let installed: Bool = {
        _ = dbinit()
        _ = dberrhandle { process, severity, number, osNumber, text, osText in
            var message = text.map { String(cString: $0) } ?? "db-lib error \(number)"
            if osNumber != 0, let osText { message += " (\(String(cString: osText)))" }
            TDSMessages.file(process, message, number: Int(number), severity: Int(severity))
            // Cancel the call (never exit the process); a timeout also ends it.
            return INT_CANCEL
        }
        _ = dbmsghandle { process, number, _, severity, text, _, _, _ in
            // Severity 10 and below are information (database context changes and the like).
            if severity > 10, let text {
                TDSMessages.file(process, String(cString: text), number: Int(number), severity: Int(severity))
            }
            return 0
        }
        return true
    }()

    private static func key(_ process: OpaquePointer?) -> UInt {
        process.map { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer($0))) } ?? 0
    }

    static func file(_ process: OpaquePointer?, _ text: String, number: Int, severity: Int) {
        filed.withLock { filed in
            // The first message of a failure is the cause; later ones are its consequences.
            if filed[key(process)] == nil { filed[key(process)] = (text, number) }
        }
    }

    static func clear(_ process: OpaquePointer?) { filed.withLock { $0[key(process)] = nil } }
    static func forget(_ process: OpaquePointer) { clear(process) }

    static func take(_ process: OpaquePointer?) -> String? { takeWithNumber(process).0 }

    static func takeWithNumber(_ process: OpaquePointer?) -> (String?, Int) {
        filed.withLock { filed in
            defer { filed[key(process)] = nil }
            guard let message = filed[key(process)] else { return (nil, 0) }
            return (message.text, message.number)
        }
    }
}
