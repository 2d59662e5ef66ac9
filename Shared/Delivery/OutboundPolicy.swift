import Foundation
import NIOPosix

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

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var index: Int
        public var description: String
    }

    public let rules: [Rule]
    /// Names the configuration key in refusals.
    public let key: String

    /// No rules: any public host.
    public static let publicOnly = OutboundPolicy(rules: [], key: "jobs.http_allowed_hosts")

    public init(rules: [Rule], key: String) {
        self.rules = rules
        self.key = key
    }

    public init(allowedHosts: [String], key: String = "jobs.http_allowed_hosts") throws(Invalid) {
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
                throw Invalid(
                    index: index,
                    description:
                        "'\(entry)' is not a host name, '*.domain', an IP address or a network like 10.0.0.0/8")
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
        let hasNetworks = rules.contains { if case .network = $0 { true } else { false } }
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

/// An IPv4 or IPv6 address as its network-order bytes.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes.
    public let bytes: [UInt8]

    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    init?(_ socketAddress: UnsafeMutablePointer<sockaddr>?) {
        guard let socketAddress else { return nil }
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            let address = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in.self)
            bytes = withUnsafeBytes(of: address.sin_addr) { Array($0) }
        case AF_INET6:
            let address = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in6.self)
            bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
        default: return nil
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
    /// IPv4-compatible `::a.b.c.d`), which is where a connection to it really goes.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let head = bytes.prefix(12)
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        let nat64: [UInt8] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
        if Array(head) == mapped || Array(head) == nat64 || (head.allSatisfy { $0 == 0 } && bytes[12] != 0) {
            return IPAddress(bytes: Array(bytes.suffix(4)))
        }
        return nil
    }

    /// What kind of non-public address this is; nil for a public one.
    public var specialRange: String? {
        if let inner = embeddedIPv4 { return inner.specialRange }
        for (network, name) in Self.specialRanges where network.contains(self) { return name }
        return nil
    }

    static let specialRanges: [(IPNetwork, String)] = [
        ("0.0.0.0/8", "'this network'"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared (carrier NAT)"),
        ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "documentation"), ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("100::/64", "discard"), ("2001:db8::/32", "documentation"),
        ("fc00::/7", "private (unique local)"), ("fe80::/10", "link-local"), ("ff00::/8", "multicast"),
    ].map { (IPNetwork($0.0)!, $0.1) }
}

/// An address range: an address and a prefix length (`10.0.0.0/8`); a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Equatable {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.address = address
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address.bytes, other.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }
}
