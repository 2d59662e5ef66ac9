/// The body of `POST /api/v1/debug-event`: an event as JSON text, or the id of one to fetch.
struct DebugEventRequest: Codable, Sendable {
    var event: String?
    var id: String?
}
