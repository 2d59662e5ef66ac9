import ArgumentParser
import Contracts
import FleetAdmin
import Foundation
import ObserverWorker

/// `fraiseql-observer debug-event`: the real rule engine on one event, explained.
struct DebugEvent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-event",
        abstract:
            "Explain, per observer and per condition clause, why an event matches or not, and what each action would send.",
        discussion: """
            The event is JSON (an argument, --file, or - for stdin) or fetched by --id (from the change log \
            when [postgres] url is set, else from the stream). Nothing is sent. Exit 0 when at least one \
            observer matches, 1 when none does.
            """)

    @OptionGroup var options: AdminOptions
    @Argument(help: "The event as JSON, or - to read it from stdin.") var json: String?
    @Option(help: "Read the event's JSON from this file.") var file: String?
    @Option(help: "Fetch the event with this id.") var id: String?

    func run() async throws {
        let given = [json != nil, file != nil, id != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give the event's JSON, --file or --id (one of them)") }
        var text: String?
        if let json {
            text = json == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : json
        }
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        if let id, UUID(uuidString: id) == nil { throw ValidationError("--id is not a UUID") }
        let (format, eventText, eventID) = (options.format, text, id)
        try await AdminConnection.run(options) { connection in
            let explanation = try await connection.explain(json: eventText, id: eventID)
            switch format {
            case .json: print(try CLIOutput.json(explanation))
            case .text: print(Self.text(explanation))
            }
            return explanation.observers.contains(where: \.matched) ? CLIExit.ok : CLIExit.partial
        }
    }

    static func text(_ explanation: EventExplanation) -> String {
        var lines = ["event \(explanation.eventId): \(explanation.entity) \(explanation.operation)"]
        for observer in explanation.observers {
            lines.append("")
            lines.append(
                "observer \(observer.observer): "
                    + (observer.matched ? "MATCHES" : "does not match: \(observer.reason)"))
            if let condition = observer.condition { lines.append("  condition: \(condition)") }
            for clause in observer.clauses {
                let join = clause.joiner.isEmpty ? "" : "\(clause.joiner) "
                lines.append(
                    "    \(join)\(clause.text) → \(clause.value)"
                        + (clause.detail.isEmpty ? "" : "   (\(clause.detail))"))
            }
            for action in observer.actions {
                lines.append("  action \(action.key) (\(action.kind), \(action.endpoint)) would send:")
                for line in action.preview.split(separator: "\n", omittingEmptySubsequences: false) {
                    lines.append("    | \(line)")
                }
            }
        }
        let matched = explanation.observers.filter(\.matched).count
        lines.append("")
        lines.append("\(matched) of \(explanation.observers.count) observer(s) match")
        return lines.joined(separator: "\n")
    }
}
