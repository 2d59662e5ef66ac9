import ArgumentParser
import Contracts
import FleetAdmin
import FleetCore
import Foundation
import Logging
import ObserverWorker
import Runtime

/// `fraiseql-observer circuits`: the shared circuit state of the configured endpoints, as the
/// workers see it in Redis (`<prefix>observer:circuit:<endpoint>`).
struct Circuits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which endpoints' circuits a worker has opened for the fleet, for how long, and which worker.")
    @OptionGroup var options: ConfigOption
    @Option(help: "text or json.") var format: OutputFormat = .text

    func run() async throws {
        let configuration = try options.load()
        let endpoints: [String]
        do {
            endpoints = try ObserverWorker.endpoints(configuration)
        } catch {
            throw ConfigOption.exit(error)
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let shared = try await ObserverWorker.openCircuits(
            redis: redis, prefix: configuration.redis.keyPrefix, endpoints: endpoints)
        if format == .json {
            print(
                try CLIOutput.json(
                    endpoints.map { endpoint in
                        let open = shared.open[endpoint]
                        return FleetStatus.Circuit(
                            endpoint: endpoint, open: open != nil, openedBy: open?.opener,
                            remainingSeconds: open.map { Double($0.remaining.milliseconds) / 1000 })
                    }))
            return
        }
        print("endpoint".padding(toLength: 40, withPad: " ", startingAt: 0) + " state   open for   opened by")
        for endpoint in endpoints {
            let name = endpoint.padding(toLength: 40, withPad: " ", startingAt: 0)
            if let open = shared.open[endpoint] {
                let seconds = String(format: "%.1f s", Double(open.remaining.milliseconds) / 1000)
                let by = open.takenOver ? "\(open.opener) (took the trial call over)" : open.opener
                print("\(name) open    \(seconds.padding(toLength: 10, withPad: " ", startingAt: 0)) \(by)")
            } else if let closer = shared.closedBy[endpoint] {
                print("\(name) closed  (a trial call by \(closer) just closed it)")
            } else {
                print("\(name) closed")
            }
        }
    }
}
