import ArgumentParser

/// Where an admin command gets its answers, and how it prints them: from the servers the
/// configuration names (the default), or from a metrics-gateway's admin API (`--gateway`).
struct AdminOptions: ParsableArguments {
    @OptionGroup var config: ConfigOption
    @Option(help: "A metrics-gateway's base URL (http://host:port): ask its admin API instead of the servers.")
    var gateway: String?
    @Option(help: "The gateway's bearer token (default: $FRAISEQL_GATEWAY_TOKEN).")
    var token: String?
    @Option(help: "text or json.") var format: OutputFormat = .text
}

enum OutputFormat: String, ExpressibleByArgument, Sendable {
    case text, json
}
