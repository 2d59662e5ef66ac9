import ArgumentParser
import Contracts
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime

/// `fraiseql-observer dead-letters`: the observer-worker's dead letters (Redis stream
/// `<prefix>observer:dlq`): list them (the default), or replay them.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract:
            "List or replay observer-worker dead letters (Redis stream observer:dlq; postgres transport: its dead_letters table).",
        subcommands: [DeadLettersList.self, DeadLettersReplay.self], defaultSubcommand: DeadLettersList.self)
}

extension FleetConfiguration {
    var deadLetterStream: String { RedisKeys(prefix: redis.keyPrefix).observerDeadLetters }
}
