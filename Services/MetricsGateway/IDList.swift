/// The body of retry and remove calls: `{"ids": [...]}`.
struct IDList: Codable, Sendable {
    var ids: [String]

    func checked() throws -> [String] {
        guard (1...1000).contains(ids.count) else { throw AdminAPIError.badRequest("'ids' must hold 1...1000 ids") }
        return ids
    }
}
