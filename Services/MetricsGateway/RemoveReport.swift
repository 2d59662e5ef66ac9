/// How many letters a remove call deleted.
struct RemoveReport: Codable, Sendable { var removed: Int }
