import ArgumentParser
import FleetClients
import Foundation
import Logging
import ObserverWorker
import Redis
import Runtime

/// `fraiseql-observer circuits`: the shared circuit state of the configured endpoints, as the
/// workers see it in Redis (`<prefix>observer:circuit:<endpoint>`).
struct Circuits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which endpoints' circuits a worker has opened for the fleet, for how long, and which worker.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        let endpoints: [String]
        do {
            endpoints = try ObserverWorker.endpoints(configuration)
        } catch {
            FileHandle.standardError.write(Data("configuration error: \(error.description)\n".utf8))
            throw ExitCode(ServiceMain.configurationExitCode)
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let keys = endpoints.map { ObserverWorker.circuitKey(prefix: configuration.redis.keyPrefix, endpoint: $0) }
        let replies = try await redis.pipeline(
            keys.flatMap { [RedisCommand("GET", [.string($0)]), RedisCommand("PTTL", [.string($0)])] })
        print("endpoint".padding(toLength: 40, withPad: " ", startingAt: 0) + " state   open for   opened by")
        for (index, endpoint) in endpoints.enumerated() {
            let name = endpoint.padding(toLength: 40, withPad: " ", startingAt: 0)
            if let opener = replies[2 * index].string, case .integer(let milliseconds) = replies[2 * index + 1],
                milliseconds > 0
            {
                let seconds = String(format: "%.1f s", Double(milliseconds) / 1000)
                print("\(name) open    \(seconds.padding(toLength: 10, withPad: " ", startingAt: 0)) \(opener)")
            } else {
                print("\(name) closed")
            }
        }
    }
}
