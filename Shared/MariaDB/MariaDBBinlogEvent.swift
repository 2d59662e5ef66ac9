/// One binlog event as the server sent it: the common header's fields and the body (post-header
/// and payload, without the checksum). Decoding the body is the caller's (its format is the
/// server's replication protocol, not the connector's).
public struct MariaDBBinlogEvent: Sendable {
    /// The event type code (`TABLE_MAP_EVENT` = 19, `WRITE_ROWS_EVENT_V1` = 23, `XID_EVENT` = 16,
    /// `GTID_EVENT` = 162, …).
    public var type: UInt8
    /// Seconds since the epoch when the statement began (the server's clock).
    public var timestamp: UInt32
    public var serverID: UInt32
    /// The event's length in the binlog, header and checksum included.
    public var length: UInt32
    /// Where the next event starts in the current binlog file (0 for artificial events).
    public var nextPosition: UInt32
    public var flags: UInt16
    public var body: [UInt8]

    /// Where this event starts in its binlog file.
    public var position: UInt64 { UInt64(nextPosition) &- UInt64(length) }

    public init(
        type: UInt8, timestamp: UInt32, serverID: UInt32, length: UInt32, nextPosition: UInt32, flags: UInt16,
        body: [UInt8]
    ) {
        self.type = type
        self.timestamp = timestamp
        self.serverID = serverID
        self.length = length
        self.nextPosition = nextPosition
        self.flags = flags
        self.body = body
    }
}
