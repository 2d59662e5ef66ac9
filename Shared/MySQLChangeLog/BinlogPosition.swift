/// A place in a server's binlog: a row of a rows event (`file`, the event's `offset`, the row's
/// index in it), and where to start reading again when it is the checkpoint (`resume`: the end
/// of its transaction when the row ends one, else the transaction's start), with the MariaDB GTID
/// of its transaction when known. Ordered by file sequence number, offset and row.
public struct BinlogPosition: Comparable, Codable, Sendable, CustomStringConvertible {
    public let file: String
    public var offset: UInt64
    public var row: Int
    public var resume: UInt64
    public var gtid: String?
    /// The binlog file's sequence number (`binlog.000042` → 42).
    public let fileNumber: Int

    public init(file: String, offset: UInt64, row: Int = 0, resume: UInt64, gtid: String? = nil) {
        self.fileNumber = Int(file.split(separator: ".").last ?? "") ?? 0
        self.file = file
        self.offset = offset
        self.row = row
        self.resume = resume
        self.gtid = gtid
    }

    public static func < (lhs: BinlogPosition, rhs: BinlogPosition) -> Bool {
        (lhs.fileNumber, lhs.file, lhs.offset, lhs.row) < (rhs.fileNumber, rhs.file, rhs.offset, rhs.row)
    }

    public static func == (lhs: BinlogPosition, rhs: BinlogPosition) -> Bool {
        (lhs.file, lhs.offset, lhs.row) == (rhs.file, rhs.offset, rhs.row)
    }

    /// The event's `cursor`: monotonic along the binlog (file number, offset below 2^30, row
    /// below 2^15).
    public var cursor: Int64 {
        Int64(fileNumber) << 45 | Int64(offset & 0x3FFF_FFFF) << 15 | Int64(min(row, 0x7FFF))
    }

    /// The checkpoint's text: `file:resume[:gtid]`.
    public var checkpointText: String {
        "\(file):\(resume)" + (gtid.map { ":\($0)" } ?? "")
    }

    /// A checkpoint read back (the position is the resume point itself).
    public init?(checkpointText text: String) {
        let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count >= 2, let resume = UInt64(parts[1]) else { return nil }
        self.init(file: parts[0], offset: resume, row: 0, resume: resume, gtid: parts.count > 2 ? parts[2] : nil)
    }

    public var description: String { "\(file):\(offset)#\(row)" }
}
