import Foundation
import Testing

/// The mssql-bridge process where no SQL Server is needed: configuration checks, `install
/// --print`, and `tls_ca` reaching FreeTDS through the freetds.conf the process writes.
@Suite("mssql-bridge processes (no SQL Server)")
struct MSSQLBridgeProcessTests {
    func config(url: String, capture: String?) throws -> String {
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [nats]
        url = "\(try Stack.url("NATS_URL"))"
        [mssql]
        url = "\(url)"
        [bridge]
        transport_name = "mssql-process"
        \(capture.map { "capture = \"\($0)\"" } ?? "")
        [[bridge.tables]]
        table = "orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a capture mode it does not have exits 2 naming bridge.capture; trigger install --print needs no server")
    func captureMode() async throws {
        let url = "mssql://sa:x@127.0.0.1:\(try Stack.freePort())/app?encrypt=off&login_timeout=2"
        let (status, errors) = try await Binaries.run(
            "mssql-bridge", ["--config", try config(url: url, capture: "binlog")])
        #expect(status == 2 && errors.contains("bridge.capture"), "\(status): \(errors)")
        let (printed, script) = try await Binaries.output(
            "mssql-bridge", ["install", "--print", "--config", try config(url: url, capture: "trigger")])
        #expect(printed == 0)
        #expect(script.contains("CREATE OR ALTER TRIGGER [dbo].[fraiseql_capture_orders] ON [dbo].[orders]"))
        #expect(script.contains("FOR JSON AUTO, INCLUDE_NULL_VALUES") && !script.contains("CHANGE_TRACKING"))
        let (ct, ctScript) = try await Binaries.output(
            "mssql-bridge", ["install", "--print", "--config", try config(url: url, capture: nil)])
        #expect(ct == 0 && ctScript.contains("ENABLE CHANGE_TRACKING") && !ctScript.contains("TRIGGER"))
    }

    @Test("tls_ca: a missing file, or with encrypt=off, exits 2 naming mssql.url")
    func badTLS() async throws {
        for url in [
            "mssql://sa:x@127.0.0.1:1433/app?tls_ca=/nonexistent/ca.pem",
            "mssql://sa:x@127.0.0.1:1433/app?encrypt=off&tls_ca=system",
        ] {
            let (status, errors) = try await Binaries.run(
                "mssql-bridge", ["--config", try config(url: url, capture: nil)])
            #expect(status == 2 && errors.contains("mssql.url") && errors.contains("tls_ca"), "\(status): \(errors)")
        }
    }

    /// With `tls_ca`, db-lib opens the freetds.conf section the process wrote (its host and port,
    /// the CA, host-name checking): a listener on that port sees db-lib's first TDS packet (a
    /// PRELOGIN, type 0x12). Had FreeTDS not read the file, the section's name would have been
    /// looked up as a host name and nothing would connect.
    @Test("tls_ca: db-lib connects through the freetds.conf section the process wrote")
    func tlsThroughConfigFile() async throws {
        let directory = try Stack.temporaryDirectory()
        let ca = directory.appendingPathComponent("ca.pem")
        try "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".write(to: ca, atomically: true, encoding: .utf8)
        let portFile = directory.appendingPathComponent("port")
        let seenFile = directory.appendingPathComponent("seen")
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        listener.arguments = [
            "-c",
            """
            import socket, sys
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(30)
            open(sys.argv[1], "w").write(str(s.getsockname()[1]))
            c, _ = s.accept(); c.settimeout(10); data = c.recv(8)
            open(sys.argv[2], "w").write(data.hex())
            """,
            portFile.path, seenFile.path,
        ]
        try listener.run()
        defer { listener.terminate() }
        #expect(try await eventually { FileManager.default.fileExists(atPath: portFile.path) })
        let port = try String(contentsOf: portFile, encoding: .utf8)
        let url = "mssql://sa:x@127.0.0.1:\(port)/app?login_timeout=3&tls_ca=\(ca.path)"
        let (status, errors) = try await Binaries.run(
            "mssql-bridge", ["install", "--config", try config(url: url, capture: nil)])
        #expect(status == 1, "the listener is no SQL Server: \(errors)")
        #expect(try await eventually { FileManager.default.fileExists(atPath: seenFile.path) })
        let seen = (try? String(contentsOf: seenFile, encoding: .utf8)) ?? ""
        #expect(seen.hasPrefix("12"), "a TDS PRELOGIN packet: \(seen)")
    }
}
