/// The server cannot be read in binlog mode as configured (binlog off, not row-based, not full
/// images or metadata, no checkpoint): what to change, in words. The bridge reports it in its
/// log and `/health/ready` and tries again.
public struct MySQLBinlogError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
