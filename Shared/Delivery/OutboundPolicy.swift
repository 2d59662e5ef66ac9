import Config
import Foundation
import NIOPosix
import Runtime

/// Where outbound HTTP requests whose URL comes from data (the `http` job kind: observers render
/// its payload from row data) may go.
///
/// - With no rules, any host whose addresses are all public.
/// - With rules, only hosts that match one: a name (`hooks.example.com`), a domain and its
///   subdomains (`*.example.com`), an address (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`).
/// - Loopback, link-local (cloud metadata at 169.254.169.254), private, shared, multicast and
///   reserved addresses are refused after DNS resolution unless a rule names the host or covers
///   the address: an application row cannot steer a request into the fleet's own network.
///
/// The check resolves the name itself, before AsyncHTTPClient resolves it again to connect: a DNS
/// server that answers differently within that window (rebinding with a zero TTL) is not stopped
/// here; docs/security.md says to back this with an egress network policy.
public struct OutboundPolicy: Sendable {
    public enum Rule: Sendable, Equatable {
        case name(String)
        /// `*.example.com`: the domain and every subdomain; stored without `*.`.
        case domain(String)
        case network(IPNetwork)
    }

    public let rules: [Rule]
    /// Names the configuration key in refusals.
    public let key: String
    /// Whether a rule is an address or network (then a name must be resolved to be judged).
    private let hasNetworks: Bool

    /// No rules: any public host.
    public static let publicOnly = OutboundPolicy(rules: [], key: "jobs.http_allowed_hosts")

    public init(rules: [Rule], key: String) {
        self.rules = rules
        self.key = key
        hasNetworks = rules.contains { if case .network = $0 { true } else { false } }
    }

    public init(allowedHosts: [String], key: String = "jobs.http_allowed_hosts") throws(ConfigError) {
        var rules: [Rule] = []
        for (index, entry) in allowedHosts.enumerated() {
            let text = entry.trimmingCharacters(in: .whitespaces).lowercased()
            if let network = IPNetwork(text) {
                rules.append(.network(network))
            } else if text.hasPrefix("*."), Self.isHostName(String(text.dropFirst(2))) {
                rules.append(.domain(String(text.dropFirst(2))))
            } else if Self.isHostName(text) {
                rules.append(.name(text))
            } else {
                throw ConfigError(
                    key: "\(key)[\(index)]",
                    message: "'\(entry)' is not a host name, '*.domain', an IP address or a network like 10.0.0.0/8")
            }
        }
        self.init(rules: rules, key: key)
    }

    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63
                && label.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
        }
    }

    /// Whether a rule names `host` (by name or domain).
    func namesHost(_ host: String) -> Bool {
        rules.contains { rule in
            switch rule {
            case .name(let name): host == name
            case .domain(let domain): host == domain || host.hasSuffix("." + domain)
            case .network: false
            }
        }
    }

    func covers(_ address: IPAddress) -> Bool {
        rules.contains { rule in
            if case .network(let network) = rule { return network.contains(address) }
            return false
        }
    }

    /// Throws a permanent ``DeliveryError`` when `url` may not be reached (a retryable one when its
    /// host cannot be resolved now).
    public func check(url: String) async throws(DeliveryError) {
        guard let components = URLComponents(string: url), var host = components.host?.lowercased(), !host.isEmpty
        else { throw DeliveryError(.permanent, "not an http(s) URL: '\(HTTPDelivery.redact(url))'") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        let named = namesHost(host)
        let literal = IPAddress(host)
        if !rules.isEmpty && !named && literal == nil && !hasNetworks {
            throw DeliveryError(.permanent, "refused: host '\(host)' is not in \(key)")
        }
        let addresses: [IPAddress]
        if let literal {
            addresses = [literal]
        } else {
            addresses = try await Self.resolve(host)
        }
        if !rules.isEmpty && !named && !addresses.allSatisfy(covers) {
            throw DeliveryError(.permanent, "refused: host '\(host)' is not in \(key)")
        }
        for address in addresses where !named && !covers(address) {
            if let range = address.specialRange {
                throw DeliveryError(
                    .permanent,
                    "refused: host '\(host)' resolves to \(address), a \(range) address (list the host or its network in \(key) to allow it)"
                )
            }
        }
    }

    /// Every address of `host`, from getaddrinfo on NIO's blocking-I/O thread pool.
    static func resolve(_ host: String) async throws(DeliveryError) -> [IPAddress] {
        let result: Result<[IPAddress], DeliveryError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { () -> Result<[IPAddress], DeliveryError> in
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0, let first = list else {
                    let reason = String(cString: gai_strerror(status))
                    // A name that does not exist will not exist on the next attempt either.
                    let permanent = status == EAI_NONAME
                    return .failure(
                        DeliveryError(permanent ? .permanent : .retryable, "cannot resolve '\(host)': \(reason)"))
                }
                defer { freeaddrinfo(list) }
                var addresses: [IPAddress] = []
                var next: UnsafeMutablePointer<addrinfo>? = first
                while let entry = next {
                    if let address = IPAddress(entry.pointee.ai_addr) { addresses.append(address) }
                    next = entry.pointee.ai_next
                }
                return addresses.isEmpty
                    ? .failure(DeliveryError(.retryable, "cannot resolve '\(host)': no address")) : .success(addresses)
            }
        } catch {
            throw DeliveryError(.retryable, "cannot resolve '\(host)': \(error)")
        }
        return try result.get()
    }
}
