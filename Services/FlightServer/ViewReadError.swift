/// A value PostgreSQL sent that the reader cannot decode.
struct ViewReadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
