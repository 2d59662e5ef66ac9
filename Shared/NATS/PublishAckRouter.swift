import CNATS
import Contracts
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// Collects the results of one asynchronous publish batch. libnats calls the ack handler on its
/// own threads; results are matched to the batch by the message pointer, which the library hands
/// back unchanged.
final class PublishAckRouter: Sendable {
    private struct State {
        var indexByMessage: [UInt: Int] = [:]
        var results: [Result<PubAck, NATSError>?] = []
    }

    private let state = Mutex(State())

    func begin(count: Int) {
        state.withLock { $0 = State(indexByMessage: [:], results: Array(repeating: nil, count: count)) }
    }

    func register(_ message: OpaquePointer, index: Int) {
        state.withLock { $0.indexByMessage[UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message)))] = index }
    }

    /// Records an outcome for a message of the current batch; false when the message is unknown.
    @discardableResult
    func complete(_ message: OpaquePointer, _ result: Result<PubAck, NATSError>) -> Bool {
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message)))
        return state.withLock { state in
            guard let index = state.indexByMessage.removeValue(forKey: key) else { return false }
            state.results[index] = result
            return true
        }
    }

    func fail(index: Int, _ error: NATSError) {
        state.withLock { $0.results[index] = .failure(error) }
    }

    func end() -> [Result<PubAck, NATSError>] {
        state.withLock { state in
            let results = state.results.map {
                $0 ?? .failure(NATSError(code: .timeout, operation: "publish", message: "no PubAck received"))
            }
            state = State()
            return results
        }
    }
}
