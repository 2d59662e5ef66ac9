import Foundation
import MariaDB
import Testing

@Suite("MariaDB client", .serialized)
struct MariaDBClientTests {
    /// A MariaDB server of the test's own, with TLS from a self-signed certificate for 127.0.0.1.
    func tlsServer() async throws -> (ServerProcess, port: Int, cert: String) {
        let (cert, key) = try await offPool { try selfSignedCertificate() }
        let (server, port) = try await plainServer(["--ssl-cert=\(cert)", "--ssl-key=\(key)", "--ssl-ca=\(cert)"])
        return (server, port, cert)
    }

    /// A MariaDB server of the test's own (no binlog), with `options` added.
    func plainServer(_ options: [String] = []) async throws -> (ServerProcess, port: Int) {
        let directory = try Stack.temporaryDirectory()
        let data = directory.appendingPathComponent("data").path
        let installer = try ServerProcess.which("mariadb-install-db")
        let status = try await offPool { () throws -> Int32 in
            let install = Process()
            install.executableURL = URL(fileURLWithPath: installer)
            install.arguments = [
                "--datadir=\(data)", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db",
            ]
            install.standardOutput = FileHandle.nullDevice
            install.standardError = FileHandle.nullDevice
            try install.run()
            install.waitUntilExit()
            return install.terminationStatus
        }
        try #require(status == 0, "mariadb-install-db failed")
        let port = try Stack.freePort()
        let server = ServerProcess(
            executable: try ServerProcess.which("mariadbd"),
            arguments: [
                "--no-defaults", "--datadir=\(data)", "--port=\(port)", "--bind-address=127.0.0.1",
                "--socket=\(directory.appendingPathComponent("mysqld.sock").path)", "--user=root",
                // A tmpdir of its own: at start mariadbd deletes every #sql* file in its tmpdir, the
                // live temporary tables of the stack's server among them if they shared /tmp.
                "--tmpdir=\(directory.path)",
            ] + options)
        return (server, port)
    }

    func cipher(_ url: String) async throws -> String {
        let connection = try await MariaDBConnection.connect(try MariaDBConfiguration(url: url))
        defer { Task { await connection.close() } }
        let result = try await connection.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return result.rows.isEmpty ? "" : result.string(0, 1) ?? ""
    }

    @Test("TLS: verify_identity with the server's CA connects encrypted; a foreign CA is refused; disabled is plain")
    func tls() async throws {
        let (server, port, cert) = try await tlsServer()
        try await server.start(waitForPort: port)
        defer { server.stop() }
        let base = "mysql://root@127.0.0.1:\(port)/mysql"
        #expect(try await !cipher("\(base)?tls=verify_identity&tls_ca=\(cert)").isEmpty, "encrypted and verified")
        #expect(try await !cipher("\(base)?tls=required").isEmpty, "encrypted, not verified")
        #expect(try await cipher("\(base)?tls=disabled").isEmpty, "plain when disabled")
        let (foreign, _) = try await offPool { try selfSignedCertificate() }
        await #expect(throws: MariaDBError.self, "a certificate from another CA") {
            _ = try await cipher("\(base)?tls=verify_identity&tls_ca=\(foreign)")
        }
    }

    @Test(
        "statements: parameters travel apart from the SQL, long values come back whole, errors carry the server's code")
    func statements() async throws {
        let connection = try await MariaDBConnection.connect(try MariaDBConfiguration(url: try Stack.url("MYSQL_URL")))
        defer { Task { await connection.close() } }
        let long = String(repeating: "é", count: 100_000)
        let evil = "'; DROP TABLE x; --"
        let result = try await connection.query(
            "SELECT ?, ?, ?, ?, ?, NULL", [.text(evil), .int(-5), .double(2.5), .text(long), .bytes([0, 255])])
        #expect(result.string(0, 0) == evil)
        #expect(result.int64(0, 1) == -5)
        #expect(result.string(0, 2).flatMap(Double.init) == 2.5)
        #expect(result.string(0, 3) == long, "a value longer than the first buffer is fetched again whole")
        #expect(result.rows[0][4] == [0, 255])
        #expect(result.rows[0][5] == nil)
        do {
            try await connection.query("SELECT * FROM no_such_table_here")
            Issue.record("no error")
        } catch let error as MariaDBError {
            #expect(error.serverCode == 1146 && error.sqlState == "42S02" && !error.connectionLost)
        }
        #expect(await connection.ping(), "the connection survives a statement error")
        #expect(throws: MariaDBError.self) { _ = try MariaDBConfiguration(url: "mysql://h/db?tls=maybe") }
    }

    @Test("a server restart: the client's calls fail while it is down and it reconnects by itself after")
    func reconnect() async throws {
        let (server, port) = try await plainServer()
        try await server.start(waitForPort: port)
        defer { server.stop() }
        let client = MariaDBClient(
            configuration: try MariaDBConfiguration(url: "mysql://root@127.0.0.1:\(port)/mysql?connect_timeout=2"))
        #expect(try await client.query("SELECT 1").scalar == "1")
        server.stop()
        await #expect(throws: MariaDBError.self) { try await client.query("SELECT 1") }
        #expect(await !client.isReachable())
        try await server.start(waitForPort: port)
        #expect(try await eventually { await client.isReachable() })
        #expect(try await client.query("SELECT 2").scalar == "2")
        await client.close()
    }

    @Test("an unreachable server: the connect fails within its timeout; the client connects once it is there")
    func unreachable() async throws {
        let port = try Stack.freePort()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: MariaDBError.self) {
            _ = try await MariaDBConnection.connect(
                try MariaDBConfiguration(url: "mysql://root@127.0.0.1:\(port)/app?connect_timeout=2"))
        }
        #expect(clock.now - start < .seconds(5))
        let client = MariaDBClient(configuration: try MariaDBConfiguration(url: try Stack.url("MYSQL_URL")))
        #expect(await client.isReachable())
        await client.close()
    }
}
