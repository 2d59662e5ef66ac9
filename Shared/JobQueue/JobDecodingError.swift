import Contracts
import Foundation
import Redis

public struct JobDecodingError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
