/// libFuzzer entry for the fleet's parsers of outside input (`make fuzz`, scripts/fuzz.sh).
///
/// Built only with `FRAISEQL_FUZZ=1` and `-sanitize=fuzzer,address`; one binary, the target chosen
/// by `FRAISEQL_FUZZ_TARGET`:
/// - `event-decoder`: a message from the stream (`EntityEvent.decode`, FastJSON);
/// - `condition`: an observer's condition (`Condition`), then evaluated on an event;
/// - `template`: a Mustache template (JSON and Slack escaping), then rendered on an event;
/// - `config`: a configuration file (TOML through `FleetConfiguration`);
/// - `resp`: bytes from a Redis server (`ReplyParser`: the scalar fast path and hiredis).
/// A crash, a sanitizer report or a timeout is a finding; each becomes a regression test.
import Config
import Contracts
import FleetCore
import Foundation
import NIOCore
import Runtime

@testable import ObserverWorker
@testable import Redis

enum FuzzTarget: String, CaseIterable {
    case eventDecoder = "event-decoder"
    case condition
    case template
    case config
    case resp
}

let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FRAISEQL_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(
            Data("FRAISEQL_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    return target
}()

let sampleEvent = EntityEvent(
    id: UUID(), cursor: 7, source: "pg-main", entityType: "order", entityId: "42", operation: .update,
    before: ["id": .int(42), "status": .string("new"), "total": .double(12.5), "tags": .array([.string("a")])],
    after: [
        "id": .int(42), "status": .string("paid"), "total": .double(99.5), "note": .string("<b>&</b>"),
        "customer": .object(["name": .string("Ada"), "vip": .bool(true)]), "gone": .null,
    ],
    changes: ["status": FieldChange(old: .string("new"), new: .string("paid"))], tenantId: "t1",
    occurredAt: Timestamp(microsecondsSinceEpoch: 1_760_000_000_000_000))

let sampleContext = TemplateContext(sampleEvent, json: FastJSON.encode(sampleEvent))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    switch selectedTarget {
    case .eventDecoder:
        if let event = try? EntityEvent.decode(bytes) {
            // What decodes re-encodes, and decodes to the same event.
            let again = try? EntityEvent.decode(FastJSON.encode(event))
            precondition(again == event, "an event does not survive re-encoding")
        }
        _ = try? EntityEvent.decode(bytes, rows: false)
        _ = try? FastJSON.parse(text)
    case .condition:
        if let condition = try? Condition(text) { _ = condition.matches(sampleEvent) }
    case .template:
        for escaping in [EventTemplate.Escaping.json, .slack, .text] {
            if let template = try? EventTemplate(text, escaping: escaping) { _ = template.render(sampleContext) }
        }
    case .config:
        if let reader = try? ConfigFile(toml: text, environment: [:], file: "fuzz.toml") {
            _ = try? FleetConfiguration(reader: reader)
        }
    case .resp:
        var buffer = ByteBuffer(bytes: bytes)
        _ = ReplyParser.scalarReply(from: &buffer)
        let parser = ReplyParser()
        if (try? parser.feed(ByteBuffer(bytes: bytes))) != nil {
            while let value = try? parser.next(), value != nil {}
        }
    }
    return 0
}

/// libFuzzer's driver (compiler-rt), run from the executable's entry point: SwiftPM links an
/// executable target's `main` to `<module>_main`, so libFuzzer's own `main` is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzTargets_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    _ = selectedTarget  // fail fast on an unknown target
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments, fuzzOne)
}
