import Foundation
import MariaDB
import Testing

/// A database of its own on the stack's MariaDB, for one test.
struct MySQLTestDatabase: Sendable {
    let name: String
    let configuration: MariaDBConfiguration

    /// `mysql://…/<name>`
    var url: String {
        "mysql://\(configuration.user)@\(configuration.host):\(configuration.port)/\(name)"
    }

    static func create() async throws -> MySQLTestDatabase {
        var configuration = try MariaDBConfiguration(url: try Stack.url("MYSQL_URL"))
        let name = Stack.unique("fx")
        let admin = try await MariaDBConnection.connect(configuration)
        try await admin.query("CREATE DATABASE \(name) CHARACTER SET utf8mb4")
        await admin.close()
        configuration.database = name
        return MySQLTestDatabase(name: name, configuration: configuration)
    }

    func connect() async throws -> MariaDBConnection {
        try await MariaDBConnection.connect(configuration)
    }

    /// Runs statements on a connection of their own.
    func execute(_ statements: String...) async throws {
        let connection = try await connect()
        do {
            for statement in statements { try await connection.query(statement) }
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    func scalar(_ sql: String) async throws -> String? {
        let connection = try await connect()
        let value = try await connection.query(sql).scalar
        await connection.close()
        return value
    }
}
