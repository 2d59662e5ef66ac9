/// The body of every admin API error.
struct ErrorBody: Codable, Sendable {
    var error: String
    var message: String
}
