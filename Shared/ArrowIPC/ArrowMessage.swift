/// One encapsulated IPC message: the `Message` flatbuffer and its body. Flight sends the two as
/// `FlightData.data_header` and `data_body`; a stream or file frames them (``framed()``).
public struct ArrowMessage: Sendable {
    /// The `Message` flatbuffer (a multiple of 8 bytes).
    public var metadata: [UInt8]
    /// The body: every buffer at a 64-byte aligned offset, padded to 64 bytes.
    public var body: [UInt8]

    public init(metadata: [UInt8], body: [UInt8]) {
        self.metadata = metadata
        self.body = body
    }

    /// The continuation marker, the metadata length, the metadata padded to 8 bytes, the body.
    public func framed() -> [UInt8] {
        let padded = (metadata.count + 7) & ~7
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + padded + body.count)
        bytes.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
        withUnsafeBytes(of: Int32(padded).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: metadata)
        bytes.append(contentsOf: repeatElement(0, count: padded - metadata.count))
        bytes.append(contentsOf: body)
        return bytes
    }

    /// The end-of-stream marker: a continuation marker and a zero length.
    public static let endOfStream: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
}
