/// The analytic view a ticket asks for: `va_*` / `ta_*` in `flight.view_schema`, or a relation
/// of `flight.allowed_relations`.
struct ViewQuery: Sendable, Equatable {
    var name: String
    var limit: Int?

    init(name: String, limit: Int? = nil) {
        self.name = name
        self.limit = limit
    }

    init(_ reader: inout FlightTicket.Reader) throws(FlightTicket.Invalid) {
        name = try reader.string("name", required: true)!
        limit = try reader.int("limit", range: 1...Int64(Int32.max)).map(Int.init)
    }
}
