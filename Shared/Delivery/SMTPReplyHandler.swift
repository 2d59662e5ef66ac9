import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Runtime

/// Splits the inbound bytes into replies (`250-…` continues, `250 …` ends) and completes the
/// oldest waiting promise with each.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var waiting: [EventLoopPromise<SMTPReply>] = []
    /// Replies that arrived before anyone asked for them (the greeting can beat `expect`).
    private var unclaimed: [SMTPReply] = []
    private var failure: (any Error)?
    private var pending: [UInt8] = []
    /// Bounds on what a server can make the client hold: RFC 5321 allows reply lines of 512
    /// bytes; a line, a multi-line reply or a run of unasked replies past these is an error.
    static let maxLineBytes = 4096
    static let maxReplyLines = 256
    static let maxUnclaimedReplies = 8

    func expect(_ promise: EventLoopPromise<SMTPReply>) {
        if !unclaimed.isEmpty {
            promise.succeed(unclaimed.removeFirst())
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }
    private var lines: [String] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        defer {
            if failure == nil,
                pending.count > Self.maxLineBytes || lines.count > Self.maxReplyLines
                    || unclaimed.count > Self.maxUnclaimedReplies
            {
                errorCaught(
                    context: context,
                    error: DeliveryError(
                        .retryable, "SMTP server sent a reply past the client's bounds (line, lines or unasked replies)"
                    ))
            }
        }
        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
            if end > Self.maxLineBytes {
                errorCaught(
                    context: context,
                    error: DeliveryError(.retryable, "SMTP server sent a reply line past the client's bounds"))
                return
            }
            var line = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeSubrange(...end)
            if line.hasSuffix("\r") { line.removeLast() }
            let code = Int(line.prefix(3)) ?? 0
            let separator = line.dropFirst(3).first
            lines.append(String(line.dropFirst(4)))
            if separator != "-" {
                let reply = SMTPReply(code: code, lines: lines)
                lines = []
                if waiting.isEmpty {
                    unclaimed.append(reply)
                } else {
                    waiting.removeFirst().succeed(reply)
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(DeliveryError(.retryable, "SMTP connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        failure = failure ?? error
        let promises = waiting
        waiting = []
        for promise in promises { promise.fail(error) }
    }
}
