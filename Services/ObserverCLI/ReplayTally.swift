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

/// One replay run, either transport: each letter's outcome printed and counted, then the sum.
struct ReplayTally {
    enum Outcome {
        /// With what to print after "replayed".
        case replayed(String)
        case skipped(String)
        case missing
        case failed(String)
    }

    private var replayed = 0
    private var skipped = 0
    private var missing = 0
    private var failed = 0

    static let undecodable = "undecodable (it would fail again)"

    /// Why a letter of `reason` is left alone, if it is: not of `--reason`, or undecodable.
    static func leftAlone(_ reason: DeadLetter.Reason, only: DeadLetter.Reason?) -> String? {
        if let only, reason != only { return "reason \(reason.rawValue)" }
        return reason == .undecodable ? undecodable : nil
    }

    mutating func record(_ id: String, _ outcome: Outcome) {
        switch outcome {
        case .replayed(let detail):
            print("\(id): replayed\(detail)")
            replayed += 1
        case .skipped(let why):
            print("\(id): skipped, \(why)")
            skipped += 1
        case .missing:
            print("\(id): no such dead letter")
            missing += 1
        case .failed(let why):
            print("\(id): not replayed: \(why)")
            failed += 1
        }
    }

    /// Prints the sum; false when a letter was not found or not replayed.
    func finish() -> Bool {
        print("\(replayed) replayed, \(skipped) skipped, \(missing) not found, \(failed) failed")
        return missing == 0 && failed == 0
    }
}
