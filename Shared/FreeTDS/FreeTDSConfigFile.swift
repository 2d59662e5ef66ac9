import Foundation
import Synchronization

/// The `freetds.conf` a process writes for itself when a URL sets `tls_ca`: db-lib's login has
/// no CA property, but FreeTDS reads `ca file` and `check certificate hostname` from the section
/// a connection names. ``prepare(_:)`` writes one section per server (after the text of an
/// existing `FREETDSCONF` file, so its settings stay) and points `FREETDSCONF` at the file; it
/// must run while the process has one thread (the first thing `main` does), because setting the
/// environment while another thread reads it is undefined. Connections then open their section.
public enum FreeTDSConfigFile {
    private static let sections = Mutex<Set<String>>([])

    /// The section name for `configuration`'s server.
    static func section(for configuration: TDSConfiguration) -> String {
        "fraiseql_\(configuration.host)_\(configuration.port)".map { $0.isLetter || $0.isNumber ? $0 : "_" }
            .reduce(into: "") { $0.append($1) }
    }

    /// The file's text: `existing` (an operator's own `freetds.conf`), then a section per server
    /// with its host, port, TDS 7.4, encryption required, the CA and host-name checking.
    public static func text(for configurations: [TDSConfiguration], existing: String = "") -> String {
        var text = existing.isEmpty ? "[global]\n" : existing + "\n"
        for configuration in configurations where configuration.tlsCA != nil {
            text += """

                [\(section(for: configuration))]
                \thost = \(configuration.host)
                \tport = \(configuration.port)
                \ttds version = 7.4
                \tencryption = require
                \tca file = \(configuration.tlsCA ?? "system")
                \tcheck certificate hostname = yes

                """
        }
        return text
    }

    /// Writes the file for the configurations that set `tls_ca` and points `FREETDSCONF` at it.
    /// Call it before any other thread starts. Nothing to do when none sets `tls_ca`.
    public static func prepare(_ configurations: [TDSConfiguration]) throws {
        let verified = configurations.filter { $0.tlsCA != nil }
        guard !verified.isEmpty else { return }
        let environment = ProcessInfo.processInfo.environment
        let existing = try environment["FREETDSCONF"].map { try String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fraiseql-freetds-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = directory.appendingPathComponent("freetds.conf")
        try text(for: verified, existing: existing).write(to: file, atomically: true, encoding: .utf8)
        setenv("FREETDSCONF", file.path, 1)
        sections.withLock { $0.formUnion(verified.map(section(for:))) }
    }

    /// The server name `dbopen` is given: the prepared section, or `host:port`. Throws when the
    /// configuration sets `tls_ca` and ``prepare(_:)`` did not run for it (the certificate would
    /// not be checked).
    static func server(for configuration: TDSConfiguration) throws(TDSError) -> String {
        guard configuration.tlsCA != nil else { return "\(configuration.host):\(configuration.port)" }
        let name = section(for: configuration)
        guard sections.withLock({ $0.contains(name) }) else {
            throw TDSError(
                .configuration, "tls_ca is set but FreeTDSConfigFile.prepare did not run for \(configuration.host)")
        }
        return name
    }
}
