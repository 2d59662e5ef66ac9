import ArgumentParser

/// `fraiseql-observer dlq` (also `dead-letters`): the observer's and the job queues' dead
/// letters, through the configured servers or a gateway.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show, retry, remove and count dead letters of the observer (default) or a job queue.",
        discussion: """
            --queue observer is the observer-worker's (Redis stream observer:dlq; postgres transport: its \
            dead_letters table); --queue jobs:<queue> a job queue's. Retrying an observer letter gives its event \
            back to the workers, which run only the actions not done; retrying a job puts it back on its queue \
            with its attempts reset.
            """,
        subcommands: [
            DeadLetterList.self, DeadLetterShow.self, DeadLetterRetry.self, DeadLetterRetryAll.self,
            DeadLetterRemove.self, DeadLetterStatsCommand.self,
        ], defaultSubcommand: DeadLetterList.self, aliases: ["dead-letters"])
}
