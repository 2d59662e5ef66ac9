/// The body of `POST /api/v1/checkpoint/reset`: the cursor to move back to; without
/// `confirm: true` a dry run (counts, changes nothing).
struct CheckpointResetRequest: Codable, Sendable {
    var toCursor: Int64
    var confirm: Bool?

    enum CodingKeys: String, CodingKey {
        case confirm
        case toCursor = "to_cursor"
    }
}
