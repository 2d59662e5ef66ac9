import CNATS
import Contracts
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// Keeps C strings alive for the duration of a call.
final class CStrings {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?] = []

    func add(_ string: String?) -> UnsafePointer<CChar>? {
        guard let string else { return nil }
        let pointer = strdup(string)
        pointers.append(pointer)
        return UnsafePointer(pointer)
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}
