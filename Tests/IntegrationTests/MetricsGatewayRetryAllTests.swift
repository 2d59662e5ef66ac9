import Contracts
import Foundation
import JobQueue
import Redis
import Synchronization
import Testing

extension MetricsGatewayProcessTests {
    @Test(
        "retry-all by filter and the job queues' dead letters, through the API and the CLI: only the matching letters go back and succeed"
    )
    func retryAllAndJobDeadLetters() async throws {
        let healed = Atomic(false)
        // Every path fails until healed: /order and /customer with 400 (observers), /job-bad with
        // 400 (a permanent error), /job-flaky with 500 (one attempt: retries exhausted).
        let receiver = try await Receiver { request, _ in
            if healed.load(ordering: .acquiring) { return .init() }
            return .init(status: request.path == "/job-flaky" ? 500 : 400, body: "not yet")
        }
        let observer = try await ObserverFixture.make(
            observers: """
                [[observers]]
                name = "orders"
                entity = "order"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/order"
                [[observers]]
                name = "customers"
                entity = "customer"
                [[observers.actions]]
                kind = "webhook"
                url = "\(receiver.url)/customer"
                """, extra: "[jobs]\nqueues = [\"mail\"]\nhttp_allowed_hosts = [\"127.0.0.1\"]\n")
        let (worker, workerPort) = try observer.worker()
        try await worker.start(waitForPort: workerPort)
        for index in 0..<2 { try await observer.publish(order(index)) }
        for index in 0..<2 {
            var customer = order(100 + index)
            customer.entityType = "customer"
            try await observer.publish(customer)
        }
        let redis = try redisClient()
        defer { redis.close() }
        #expect(try await eventually { try await observer.deadLetters(redis).count == 4 })

        // Four job letters in `mail`: two permanent errors, two with their attempts exhausted.
        let jobs = try InProcessWorker.start(prefix: observer.keyPrefix, queues: ["mail"])
        for _ in 0..<2 { try await jobs.queue.enqueue(httpJob(queue: "mail", url: receiver.url + "/job-bad")) }
        for _ in 0..<2 {
            try await jobs.queue.enqueue(httpJob(queue: "mail", url: receiver.url + "/job-flaky", maxAttempts: 1))
        }
        #expect(try await eventually { try await jobs.queue.depth("mail").deadLetters == 4 })
        let gateway = try await GatewayFixture.start(observer)
        let cli = try Binaries.path("fraiseql-observer")
        func tool(_ arguments: [String]) async throws -> (Int32, String) {
            try await offPool { try runTool(cli, arguments) }
        }
        let local = ["--config", observer.configPath]
        let remote = ["--gateway", gateway.base, "--token", GatewayFixture.adminToken]

        // The job queue's letters read the same on the configuration and through the gateway.
        for target in [local, remote] {
            let list = try await tool(["dlq", "list", "--queue", "jobs:mail", "--format", "json"] + target)
            #expect(list.0 == 0, "\(list.1)")
            let entries = json(list.1) as? [[String: Any]] ?? []
            #expect(entries.count == 4, "\(list.1)")
            let stats = try await tool(["dlq", "stats", "--queue", "jobs:mail", "--format", "json"] + target)
            let reasons = (json(stats.1) as? [String: Any])?["by_reason"] as? [String: Int]
            #expect(reasons == ["permanent_error": 2, "retries_exhausted": 2], "\(stats.1)")
            let id = try #require(entries.first?["id"] as? String)
            let show = try await tool(["dlq", "show", id, "--queue", "jobs:mail"] + target)
            #expect(show.0 == 0 && show.1.contains("HTTP"), "\(show.1)")
        }
        healed.store(true, ordering: .releasing)

        // The API: a read token may not; a filter naming no reason is refused; the permanent errors go back.
        let url = "\(gateway.base)/api/v1/dead-letters/jobs:mail/retry-all"
        let permanent = #"{"reason":"permanent_error"}"#
        #expect(await httpCall("POST", url, token: GatewayFixture.readToken, body: permanent).0 == 403)
        #expect(await httpCall("POST", url, token: GatewayFixture.adminToken, body: #"{"reason":"nope"}"#).0 == 400)
        let retried = await httpCall("POST", url, token: GatewayFixture.adminToken, body: permanent)
        #expect(retried.0 == 200, "\(retried)")
        let results = (json(retried.1) as? [String: Any])?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 2 && results.allSatisfy { $0["outcome"] as? String == "retried" }, "\(retried)")
        #expect(
            try await eventually { receiver.requests.filter { $0.path == "/job-bad" && $0.status == 200 }.count == 2 })
        #expect(receiver.requests.filter { $0.path == "/job-flaky" && $0.status == 200 }.isEmpty)
        #expect(try await eventually { try await jobs.queue.depth("mail").deadLetters == 2 })
        let left = try await jobs.queue.deadLetters("mail").map { $0.1.reason }
        #expect(left == [.retriesExhausted, .retriesExhausted])

        // The CLI on the configuration: the rest by job kind.
        let bad = try await tool(["dlq", "retry-all", "--queue", "jobs:mail", "--reason", "nope"] + local)
        #expect(bad.0 == 64, "a reason that does not exist is a usage error (\(bad.1))")
        let byKind = try await tool(["dlq", "retry-all", "--queue", "jobs:mail", "--handler", "http"] + local)
        #expect(byKind.0 == 0 && byKind.1.contains("2 retried, 0 skipped"), "\(byKind.1)")
        #expect(
            try await eventually { receiver.requests.filter { $0.path == "/job-flaky" && $0.status == 200 }.count == 2 }
        )
        #expect(
            try await eventually {
                try await jobs.queue.depth("mail") == QueueDepth(queued: 0, running: 0, delayed: 0, deadLetters: 0)
            })

        // The observer's letters through the gateway by entity: the customers only.
        let customers = try await tool(["dlq", "retry-all", "--entity", "customer", "--format", "json"] + remote)
        #expect(customers.0 == 0, "\(customers.1)")
        #expect((json(customers.1) as? [[String: Any]])?.count == 2, "\(customers.1)")
        #expect(
            try await eventually { receiver.requests.filter { $0.path == "/customer" && $0.status == 200 }.count == 2 })
        #expect(try await observer.settled())
        #expect(try await observer.deadLetters(redis).map(\.origin).allSatisfy { $0.hasSuffix(".order.update") })
        #expect(try await observer.deadLetters(redis).count == 2)
        #expect(receiver.requests.filter { $0.path == "/order" && $0.status == 200 }.isEmpty)

        await jobs.stop()
        #expect(gateway.gateway.stop() == 0)
        #expect(worker.stop() == 0)
        await receiver.stop()
        await observer.cleanUp()
    }
}
