import CFreeTDS
import Foundation
import Synchronization

/// db-lib's process-wide error and message handlers, and the messages they file per connection
/// (the key 0 stands for a login that has no connection yet). During a login, db-lib calls the
/// handlers on the thread that logs in, with a connection handle the caller never sees: what they
/// say then is filed for that thread (``login(_:)``).
enum TDSMessages {
    private static let filed = Mutex<[UInt: (text: String, number: Int)]>([:])
    private static let logins = Mutex<[UInt: (text: String, number: Int)?]>([:])

    private static var thread: UInt { UInt(pthread_self()) }

    /// Runs `body` (a login) on this thread and returns what it returned with the first message
    /// db-lib or the server gave during it (text and number), if any.
    static func login<T>(_ body: () -> T) -> (T, (text: String, number: Int)?) {
        let me = thread
        logins.withLock { $0[me] = .some(nil) }
        let result = body()
        let message = logins.withLock { $0.removeValue(forKey: me) ?? nil }
        return (result, message)
    }

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
        let me = thread
        let duringLogin = logins.withLock { logins -> Bool in
            guard let entry = logins[me] else { return false }
            // The first message of a failure is the cause; later ones are its consequences.
            if entry == nil { logins[me] = .some((text, number)) }
            return true
        }
        if duringLogin { return }
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
