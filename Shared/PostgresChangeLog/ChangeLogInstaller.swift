import BridgeEngine
import Config
import Foundation
import Logging
import PostgresNIO
import Runtime

/// Applies the change-log DDL in one transaction (PostgreSQL DDL is transactional).
public enum ChangeLogInstaller {
    /// - Parameter additional: statements applied after the change log's, in the same transaction
    ///   (the observer-worker's own tables, from `fraiseql-observer install`).
    ///   - allowSuperuser: install even when connected as a superuser (refused otherwise: the
    ///     fleet's role needs no such power, and a superuser install hides missing grants).
    ///   - captureRole: the NOLOGIN role that owns the trigger function (`bridge.capture_role`).
    public static func install(
        configuration: PostgresConnection.Configuration, tables: [BridgeConfiguration.Table],
        additional: [String] = [], allowSuperuser: Bool = false,
        captureRole: String = BridgeConfiguration.defaultCaptureRole, logger: Logger
    ) async throws {
        let statements = try ChangeLogSchema.statements(for: tables, captureRole: captureRole) + additional
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await checkRoles(connection, allowSuperuser: allowSuperuser, captureRole: captureRole, logger: logger)
        // A table or column that is not there would install a trigger that captures nothing
        // useful (a missing id column: every change with an empty entity_id).
        let problems = try await CapturedTables.check(tables, connection: connection, logger: logger)
        if !problems.isEmpty {
            throw ChangeLogError(
                .install, problems.map(\.description).joined(separator: "; "), key: problems[0].key)
        }
        try await connection.checkedQuery("BEGIN", logger: logger)
        do {
            // Serialise concurrent installs (CREATE OR REPLACE FUNCTION races otherwise).
            try await connection.checkedQuery(
                "SELECT pg_advisory_xact_lock(hashtext('fraiseql_observer.install'))", logger: logger)
            for statement in statements {
                try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger, timeout: nil)
            }
            try await connection.checkedQuery("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension ChangeLogInstaller {
    /// Refuses a superuser installer (unless allowed) and a capture role that could log in or
    /// holds more than its grants.
    static func checkRoles(
        _ connection: PostgresConnection, allowSuperuser: Bool, captureRole: String, logger: Logger
    ) async throws {
        let installer = try await connection.query(
            "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
            logger: logger)
        for try await (name, isSuperuser) in installer.decode((String, Bool).self) where isSuperuser && !allowSuperuser
        {
            throw ChangeLogError(
                .install,
                "refusing to install as the superuser '\(name)': connect as the fleet's own role (docs/deployment.md lists its grants), or pass --allow-superuser"
            )
        }
        let capture = try await connection.query(
            """
            SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
              FROM pg_catalog.pg_roles WHERE rolname = \(captureRole)
            """, logger: logger)
        for try await (login, superuser, bypassRLS, createRole, createDB) in capture.decode(
            (Bool, Bool, Bool, Bool, Bool).self)
        where login || superuser || bypassRLS || createRole || createDB {
            throw ChangeLogError(
                .install,
                "bridge.capture_role: the role '\(captureRole)' must be NOLOGIN without SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB: the trigger function runs with its rights",
                key: "bridge.capture_role")
        }
    }

    /// The `install [--print]` command shared by `pg-bridge` and `fraiseql-observer`: prints the
    /// DDL or applies it, reports on stdout/stderr, and returns the exit code (0; 1 when
    /// PostgreSQL refuses; 2 for a configuration problem).
    public static func command(
        bridge: BridgeConfiguration, postgres: DatabaseConfiguration, printOnly: Bool, name: String,
        additional: [String] = [],
        allowSuperuser: Bool = false
    ) async -> Int32 {
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
            return code
        }
        do {
            if printOnly {
                print(
                    try ChangeLogSchema.script(
                        for: bridge.tables, captureRole: bridge.captureRole),
                    terminator: "")
                for statement in additional { print("\n" + statement + ";") }
                return 0
            }
            guard let url = postgres.url else {
                return fail("configuration error: postgres.url is required", ConfigError.exitCode)
            }
            try await install(
                configuration: try PostgresURL.configuration(url.value), tables: bridge.tables,
                additional: additional, allowSuperuser: allowSuperuser, captureRole: bridge.captureRole,
                logger: Logger(label: "fraiseql.\(name).install"))
            print(
                "installed fraiseql_observer change log and \(bridge.tables.count) trigger(s)"
                    + (additional.isEmpty ? "" : ", and the observer-worker's tables"))
            return 0
        } catch let error as ChangeLogError where error.code == .invalidURL {
            return fail("configuration error: postgres.url: \(error.description)", ConfigError.exitCode)
        } catch let error as ChangeLogError where error.code == .install {
            return fail(
                error.key == nil ? "install: \(error.description)" : "configuration error: \(error.description)",
                ConfigError.exitCode)
        } catch {
            return fail("install failed: \(String(reflecting: error))", 1)
        }
    }
}
