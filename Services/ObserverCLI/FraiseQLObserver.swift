import ArgumentParser
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

public struct FraiseQLObserver: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fraiseql-observer", abstract: "Operate the FraiseQL observer fleet.",
        subcommands: [
            Validate.self, Status.self, Install.self, GenerateViews.self, Events.self, Jobs.self,
            DeadLetterCommand.self, Circuits.self, Audit.self, Replay.self, DebugEvent.self, CheckpointCommand.self,
        ])

    public init() {}
}
