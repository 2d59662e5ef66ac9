import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// An HTTP request to deliver.
public struct HTTPDeliveryRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    public var timeout: Duration
    /// The URL's path is a credential (Slack-style incoming webhooks): errors show scheme and
    /// host only.
    public var secretPath: Bool

    public init(
        method: String = "POST", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(10), secretPath: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.secretPath = secretPath
    }
}
