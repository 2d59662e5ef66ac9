import Delivery
import Testing

@Suite("HTTP delivery")
struct HTTPDeliveryTests {
    func failure(_ url: String) async -> DeliveryError? {
        do {
            _ = try await HTTPDelivery().send(HTTPDeliveryRequest(url: url, body: [1], timeout: .seconds(2)))
            return nil
        } catch { return error }
    }

    @Test("a URL that can never work is a permanent failure; an unreachable server is retried")
    func urlErrors() async throws {
        for url in ["ftp://127.0.0.1/x", "http://", "https:///path", "hooks.example.com/x", ""] {
            let error = await failure(url)
            #expect(error?.isPermanent == true, "\(url): \(String(describing: error))")
            #expect(error?.message.contains("not an http(s) URL") == true, "\(url): \(String(describing: error))")
        }
        // Upper-case schemes are URLs too; a refused connection is worth retrying.
        let refused = await failure("HTTP://127.0.0.1:\(try Stack.freePort())/hook")
        #expect(refused?.isPermanent == false, "\(String(describing: refused))")
        #expect(refused?.message.contains("not an http(s) URL") == false)
    }
}
