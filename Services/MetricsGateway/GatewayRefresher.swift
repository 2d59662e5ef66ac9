import AsyncHTTPClient
import FleetAdmin
import FleetCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Reads the fleet every `refresh_interval`: status through ``FleetAdmin``, each service's
/// `/health/ready`, the latest dead letters; keeps the result for scrapes, the status page and
/// the API, and sets the gauges. A refresh that fails in a part says so in the snapshot.
final class GatewayRefresher: Service, Sendable {
    private let admin: FleetAdmin
    private let configuration: GatewayConfiguration
    private let gauges = GatewayGauges()
    private let logger: Logger
    private let latest = Mutex<GatewaySnapshot?>(nil)
    private let client: HTTPClient

    init(admin: FleetAdmin, configuration: GatewayConfiguration, logger: Logger) {
        self.admin = admin
        self.configuration = configuration
        self.logger = logger
        client = HTTPClient.shared
    }

    /// The last refresh's result (nil before the first).
    var snapshot: GatewaySnapshot? { latest.withLock { $0 } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: self.configuration.refreshInterval)
            }
        }
    }

    /// Reads everything now and publishes the result.
    @discardableResult
    func refresh() async -> GatewaySnapshot {
        let started = ContinuousClock.now
        async let status = admin.status()
        async let services = probeServices()
        let letters = await recentDeadLetters()
        var snapshot = GatewaySnapshot(
            status: await status, services: await services, streamEventsPerSecond: nil, consumerAcksPerSecond: [:],
            recentDeadLetters: letters, refreshSeconds: 0)
        if let previous = self.snapshot {
            let seconds =
                Double(
                    snapshot.status.generatedAt.microsecondsSinceEpoch
                        - previous.status.generatedAt.microsecondsSinceEpoch) / 1e6
            if seconds > 0 {
                if let now = snapshot.status.stream, let before = previous.status.stream, now.name == before.name {
                    snapshot.streamEventsPerSecond =
                        Double(now.lastSequence >= before.lastSequence ? now.lastSequence - before.lastSequence : 0)
                        / seconds
                }
                let before = Dictionary(previous.status.consumers.map { ($0.name, $0.ackFloor) }) { a, _ in a }
                for consumer in snapshot.status.consumers {
                    guard let floor = before[consumer.name], consumer.ackFloor >= floor else { continue }
                    snapshot.consumerAcksPerSecond[consumer.name] = Double(consumer.ackFloor - floor) / seconds
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        snapshot.refreshSeconds = elapsed.fractionalSeconds
        gauges.update(snapshot)
        for problem in snapshot.status.problems where self.snapshot?.status.problems.contains(problem) != true {
            logger.warning("fleet status incomplete", metadata: ["problem": "\(problem)"])
        }
        latest.withLock { $0 = snapshot }
        return snapshot
    }

    private func probeServices() async -> [ServiceHealth] {
        await withTaskGroup(of: (Int, ServiceHealth).self) { group in
            for (index, service) in configuration.services.enumerated() {
                group.addTask {
                    (index, await self.probe(service))
                }
            }
            var results: [(Int, ServiceHealth)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func probe(_ service: GatewayConfiguration.ServiceEndpoint) async -> ServiceHealth {
        var health = ServiceHealth(name: service.name, url: service.url, ready: false, detail: "")
        do {
            let request = HTTPClientRequest(url: service.url + "/health/ready")
            let response = try await client.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 64 * 1024)
            health.ready = response.status == .ok
            health.detail = String(buffer: body)
        } catch {
            health.detail = "no answer: \(error)"
        }
        return health
    }

    /// The latest letters of every queue, newest first.
    private func recentDeadLetters() async -> [DeadLetterEntry] {
        let wanted = configuration.recentDeadLetters
        guard wanted > 0 else { return [] }
        var entries: [DeadLetterEntry] = []
        for queue in admin.deadLetterQueues {
            if let latest = try? await admin.latestDeadLetters(queue, count: wanted) { entries += latest }
        }
        return Array(
            entries.sorted {
                ($0.letter?.lastFailedAt.microsecondsSinceEpoch ?? 0)
                    > ($1.letter?.lastFailedAt.microsecondsSinceEpoch ?? 0)
            }.prefix(wanted))
    }
}
