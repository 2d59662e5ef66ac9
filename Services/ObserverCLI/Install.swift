import ArgumentParser
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

struct Install: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create the PostgreSQL change log and the triggers of [[bridge.tables]], and the observer-worker's own tables (postgres transport, search audit index)."
    )

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print the DDL instead of applying it.")
    var print = false

    @Flag(name: .long, help: "Install even when connected as a PostgreSQL superuser (refused otherwise).")
    var allowSuperuser = false

    func run() async throws {
        let configuration = try options.load()
        let code = await ChangeLogInstaller.command(
            bridge: configuration.bridge, postgres: configuration.postgres, printOnly: self.print,
            name: "fraiseql-observer",
            additional: ObserverWorker.postgresDDL(configuration), allowSuperuser: allowSuperuser)
        if code != 0 { throw ExitCode(code) }
    }
}
