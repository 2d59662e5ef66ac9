import ArgumentParser
import FleetAdmin

/// `fraiseql-observer checkpoint`: the bridge's checkpoint, and its guarded reset.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Show the bridge's checkpoint, or move it back (guarded).",
        subcommands: [CheckpointShow.self, CheckpointResetCommand.self], defaultSubcommand: CheckpointShow.self)
}

struct CheckpointShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Where [bridge] transport_name stands: cursor, newest change, backlog, leader.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        let format = options.format
        try await AdminConnection.run(options) { connection in
            let view = try await connection.checkpoint()
            switch format {
            case .json: print(try CLIOutput.json(view))
            case .text:
                print(
                    "\(view.transport): checkpoint \(view.cursor.map(String.init) ?? "none (never published)")"
                        + (view.updatedAt.map { " at \($0.rfc3339)" } ?? "") + "; newest change \(view.newestChange); "
                        + "\(view.unpublishedRows) unpublished; "
                        + (view.leader.map { "leader pid \($0.pid) (\($0.applicationName))" } ?? "no bridge leads"))
            }
            return CLIExit.ok
        }
    }
}

struct CheckpointResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Move the checkpoint back so that every later change still kept is published again.",
        discussion: """
            Only backwards, and only while no bridge leads the transport (stop them, reset, start them). Without \
            --confirm: a dry run that counts the changes. Republished events keep their stable ids: the stream's \
            duplicate window and the workers' marks absorb those they still remember.
            """)
    @OptionGroup var options: AdminOptions
    @Option(help: "The cursor to move back to.") var to: Int64
    @Flag(help: "Do it (default: a dry run).") var confirm = false

    func run() async throws {
        let (format, cursor, confirm) = (options.format, to, confirm)
        try await AdminConnection.run(options) { connection in
            let reset = try await connection.resetCheckpoint(to: cursor, confirm: confirm)
            switch format {
            case .json: print(try CLIOutput.json(reset))
            case .text:
                print(
                    reset.dryRun
                        ? "dry run: \(reset.rows) change(s) after \(reset.toCursor) would be published again; add --confirm"
                        : "\(reset.transport): checkpoint \(reset.toCursor), \(reset.rows) change(s) queued to publish again"
                )
            }
            return CLIExit.ok
        }
    }
}
