import NIOCore
import Testing

@testable import Redis

/// Regressions of `make fuzz` (resp target): what a Redis server sends cannot make the client
/// allocate without bound.
@Suite("RESP reply bounds")
struct ReplyBoundsTests {
    func parse(_ chunks: [String]) throws(RedisError) -> [RESPValue] {
        let parser = ReplyParser()
        var replies: [RESPValue] = []
        for chunk in chunks {
            try parser.feed(ByteBuffer(string: chunk))
            while let reply = try parser.next() { replies.append(reply) }
        }
        return replies
    }

    @Test("an array announcing 904,440,492 elements is a protocol error, not a 7 GB allocation")
    func hugeArray() {
        #expect(throws: RedisError.self) { try parse(["*1\r\n*904440492\r\n+2\r\n"]) }
        #expect(throws: RedisError.self) { try parse(["%600", "000\r\n"]) }
        #expect(throws: RedisError.self) { try parse(["*1\r\n$3\r\nabc\r\n", "*9999999999999999999999\r\n"]) }
        #expect(throws: RedisError.self) { try parse(["$600000000\r\n"]) }
    }

    @Test("header-like bytes inside bulk strings are data; split reads and nested replies parse as before")
    func legitimateReplies() throws {
        let replies = try parse([
            "*3\r\n$11\r\n*99999999\r\n\r\n:5\r\n*2", "\r\n+x\r\n$-1\r\n", "$1", "4\r\n*2000000000\r\nx\r\n", "*-1\r\n",
        ])
        #expect(replies.count == 3)
        #expect(
            replies[0]
                == .array([.bulkString(Array("*99999999\r\n".utf8)), .integer(5), .array([.simpleString("x"), .null])]))
        #expect(replies[1] == .bulkString(Array("*2000000000\r\nx".utf8)))
    }
}
