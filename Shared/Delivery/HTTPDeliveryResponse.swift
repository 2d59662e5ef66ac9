import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

public struct HTTPDeliveryResponse: Sendable {
    public var status: Int
    /// The first bytes of the body (at most ``HTTPDelivery/keptBodyBytes``), for results and error
    /// messages; the rest of a longer body was read and discarded.
    public var body: [UInt8]
    /// The body was longer than what `body` holds.
    public var truncated: Bool
}
