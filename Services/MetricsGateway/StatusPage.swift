import FleetAdmin
import Foundation
import Hummingbird
import Mustache

/// The status page at `/`: server-rendered HTML (no script, no build step) from the last
/// refresh, reloading itself every refresh interval.
struct StatusPage: Sendable {
    let refresher: GatewayRefresher
    let refreshSeconds: Int
    private let template: MustacheTemplate

    init(refresher: GatewayRefresher, refreshInterval: Duration) throws {
        self.refresher = refresher
        refreshSeconds = max(1, Int(refreshInterval.components.seconds))
        template = try MustacheTemplate(string: Self.html)
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            let snapshot: GatewaySnapshot
            if let latest = self.refresher.snapshot {
                snapshot = latest
            } else {
                snapshot = await self.refresher.refresh()
            }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: self.render(snapshot))))
        }
    }

    func render(_ snapshot: GatewaySnapshot) -> String {
        let status = snapshot.status
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        var context: [String: Any] = [
            "refresh": refreshSeconds,
            "generated": status.generatedAt.rfc3339,
            "transport": status.transport,
            "problems": status.problems,
            "hasProblems": !status.problems.isEmpty,
            "services": snapshot.services.map {
                [
                    "name": $0.name, "url": $0.url, "state": $0.ready ? "ready" : "NOT READY", "ok": $0.ready,
                    "detail": $0.detail,
                ]
            },
            "hasServices": !snapshot.services.isEmpty,
            "parts": status.parts.sorted { $0.key < $1.key }.map {
                ["name": $0.key, "state": $0.value ? "up" : "DOWN", "ok": $0.value]
            },
        ]
        var lag: [[String: Any]] = []
        if let bridge = status.bridge {
            lag.append([
                "stage":
                    "change log → \(status.transport == "postgres" ? "workers" : "stream") (\(bridge.transportName))",
                "backlog": "\(bridge.unpublishedRows) rows", "oldest": number(bridge.oldestUnpublishedSeconds) + " s",
                "extra": bridge.leader.map { "leader pid \($0.pid) (\($0.applicationName))" }
                    ?? (status.transport == "postgres" ? "" : "NO LEADER"),
            ])
        }
        for consumer in status.consumers {
            lag.append([
                "stage": "stream → \(consumer.name)",
                "backlog": "\(consumer.pending) pending, \(consumer.ackPending) awaiting ack",
                "oldest": consumer.oldestUnackedSeconds.map { number($0) + " s" } ?? "-",
                "extra": "\(consumer.redelivered) redelivered",
            ])
        }
        context["lag"] = lag
        var throughput: [[String: String]] = []
        if let rate = snapshot.streamEventsPerSecond {
            throughput.append([
                "what": "events into \(status.stream?.name ?? "the stream")", "rate": number(rate) + " /s",
            ])
        }
        for (name, rate) in snapshot.consumerAcksPerSecond.sorted(by: { $0.key < $1.key }) {
            throughput.append(["what": "events acknowledged by \(name)", "rate": number(rate) + " /s"])
        }
        context["throughput"] = throughput
        if let stream = status.stream {
            context["stream"] = [
                "name": stream.name, "messages": "\(stream.messages)", "bytes": "\(stream.bytes)",
                "limits": [
                    stream.maxMessages >= 0 ? "max \(stream.maxMessages) messages" : nil,
                    stream.maxBytes >= 0 ? "max \(stream.maxBytes) bytes" : nil,
                ].compactMap { $0 }
                    .joined(separator: ", "),
            ]
        }
        context["queues"] = status.jobQueues.map {
            [
                "name": $0.name, "queued": "\($0.queued)", "running": "\($0.running)", "delayed": "\($0.delayed)",
                "dead": "\($0.dead)",
            ]
        }
        var dlq: [[String: String]] = []
        if let observer = status.observerDeadLetters { dlq.append(["queue": "observer", "count": "\(observer)"]) }
        for queue in status.jobQueues { dlq.append(["queue": "jobs:\(queue.name)", "count": "\(queue.dead)"]) }
        if let bridge = status.bridge, let letters = bridge.deadLetters {
            dlq.append(["queue": "bridge (set aside)", "count": "\(letters)"])
        }
        context["dlq"] = dlq
        let open = status.circuits.filter(\.open)
        context["openCircuits"] = open.map {
            ["endpoint": $0.endpoint, "by": $0.openedBy ?? "?", "remaining": number($0.remainingSeconds ?? 0) + " s"]
        }
        context["noOpenCircuits"] = open.isEmpty
        context["circuitCount"] = status.circuits.count
        context["letters"] = snapshot.recentDeadLetters.map { entry -> [String: String] in
            [
                "queue": entry.queue, "id": entry.id,
                "reason": entry.letter?.reason.rawValue ?? "unreadable",
                "handler": entry.letter?.handler ?? "-",
                "when": entry.letter?.lastFailedAt.rfc3339 ?? "-",
                "error": String((entry.letter?.lastError ?? entry.raw ?? "").prefix(300)),
            ]
        }
        context["noLetters"] = snapshot.recentDeadLetters.isEmpty
        return template.render(context)
    }

    static let html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{{refresh}}">
        <title>FraiseQL fleet status</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
        table{border-collapse:collapse;min-width:40rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
        th{background:#f3f3f3}.bad{color:#b00;font-weight:bold}.ok{color:#070}.muted{color:#777}
        </style></head><body>
        <h1>FraiseQL fleet status</h1>
        <p class="muted">Read at <span id="generated">{{generated}}</span>; observer transport {{transport}}; this page reloads every {{refresh}} s.</p>
        {{#hasProblems}}<ul id="problems">{{#problems}}<li class="bad">{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
        <h2>Servers and services</h2>
        <table id="services"><tr><th>name</th><th>state</th><th>detail</th></tr>
        {{#parts}}<tr><td>{{name}}</td><td class="{{#ok}}ok{{/ok}}{{^ok}}bad{{/ok}}">{{state}}</td><td></td></tr>{{/parts}}
        {{#services}}<tr><td>{{name}}</td><td class="{{#ok}}ok{{/ok}}{{^ok}}bad{{/ok}}">{{state}}</td><td class="muted">{{detail}}</td></tr>{{/services}}
        </table>
        <h2>Lag per stage</h2>
        <table id="lag"><tr><th>stage</th><th>backlog</th><th>oldest</th><th></th></tr>
        {{#lag}}<tr><td>{{stage}}</td><td>{{backlog}}</td><td>{{oldest}}</td><td>{{extra}}</td></tr>{{/lag}}
        </table>
        {{#stream}}<p id="stream">Stream {{name}}: {{messages}} messages, {{bytes}} bytes {{limits}}</p>{{/stream}}
        <h2>Throughput</h2>
        <table id="throughput"><tr><th>what</th><th>rate</th></tr>
        {{#throughput}}<tr><td>{{what}}</td><td>{{rate}}</td></tr>{{/throughput}}
        </table>
        <h2>Job queues</h2>
        <table id="queues"><tr><th>queue</th><th>queued</th><th>running</th><th>delayed</th><th>dead</th></tr>
        {{#queues}}<tr><td>{{name}}</td><td>{{queued}}</td><td>{{running}}</td><td>{{delayed}}</td><td>{{dead}}</td></tr>{{/queues}}
        </table>
        <h2>Dead letters</h2>
        <table id="dlq"><tr><th>queue</th><th>letters</th></tr>
        {{#dlq}}<tr><td>{{queue}}</td><td>{{count}}</td></tr>{{/dlq}}
        </table>
        <h2>Open circuits</h2>
        {{#noOpenCircuits}}<p id="circuits">None open ({{circuitCount}} endpoints).</p>{{/noOpenCircuits}}
        {{^noOpenCircuits}}<table id="circuits"><tr><th>endpoint</th><th>opened by</th><th>open for</th></tr>
        {{#openCircuits}}<tr><td>{{endpoint}}</td><td>{{by}}</td><td>{{remaining}}</td></tr>{{/openCircuits}}
        </table>{{/noOpenCircuits}}
        <h2>Latest dead letters</h2>
        {{#noLetters}}<p id="letters">None.</p>{{/noLetters}}
        {{^noLetters}}<table id="letters"><tr><th>when</th><th>queue</th><th>id</th><th>reason</th><th>handler</th><th>error</th></tr>
        {{#letters}}<tr><td>{{when}}</td><td>{{queue}}</td><td>{{id}}</td><td>{{reason}}</td><td>{{handler}}</td><td>{{error}}</td></tr>{{/letters}}
        </table>{{/noLetters}}
        </body></html>
        """
}
